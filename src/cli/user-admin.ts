import { type Command, Option } from 'commander';
import type { Actor } from '../access/actor.ts';
import { CLI_AUDIT_CONTEXT } from '../access/audit-context.ts';
import { toUserJson } from '../tenancy/org-json.ts';
import type { UserAdminService } from '../tenancy/users/user-admin-service.ts';
import type { MemberStatus, TenantUser } from '../tenancy/users/user-admin-store.ts';
import {
  parseLimit,
  runInTenant,
  type TenantOptions,
  tenantCommand,
  userIdOf,
} from './admin-args.ts';
import { type AdminOptions, type AdminSession, adminOptions, runAdmin } from './admin-session.ts';
import { printRecord, printRows } from './output.ts';
import { type CliIo, PROCESS_IO, readPassword } from './user.ts';

const USER_COLUMNS = ['id', 'email', 'name', 'roles', 'status', 'joined_at'];

function userService({ services }: AdminSession): UserAdminService {
  return services.tenancy.userAdmin;
}

interface ListOptions extends TenantOptions {
  readonly status?: MemberStatus;
  readonly role?: string;
  readonly team?: string;
  readonly q?: string;
  readonly after?: string;
  readonly limit: number;
}

/**
 * `tessera user list|show|deactivate|activate|delete|roles|set-password`: the rules
 * (delegation, last admin) and audit events of /api/v1/users, with the CLI as actor.
 */
export function registerUserAdminCommands(program: Command, io: CliIo = PROCESS_IO): void {
  const user =
    program.commands.find((command) => command.name() === 'user') ??
    program.command('user').description('manage users');

  const inTenant = (
    options: TenantOptions,
    fn: (users: UserAdminService, actor: Actor, session: AdminSession) => Promise<void>,
  ) => runInTenant(io, options, userService, fn);

  tenantCommand(
    user
      .command('list')
      .description("list the tenant's users by id")
      .addOption(new Option('--status <status>', 'only these').choices(['active', 'deactivated']))
      .option('--role <role>', 'only users with this role')
      .option('--team <id>', 'only members of this team')
      .option('--q <text>', 'only users whose email or name contains this, ignoring case')
      .option('--after <id>', 'start after this user id')
      .option('--limit <n>', 'at most this many (1-1000)', parseLimit, 1000),
  ).action(async (options: ListOptions) => {
    await inTenant(options, async (users, actor) => {
      const { status, role, team, q, after, limit } = options;
      const page = await users.list(actor, { status, role, team, q, after, limit });
      printRows(io, options.json, page.map(toUserJson), USER_COLUMNS);
    });
  });

  tenantCommand(
    user.command('show <user>').description('show one user of the tenant (id or email)'),
  ).action(async (id: string, options: TenantOptions) => {
    await inTenant(options, async (users, actor, { services }) => {
      printRecord(
        io,
        options.json,
        toUserJson(await users.get(actor, await userIdOf(services, id))),
      );
    });
  });

  const change = (
    name: string,
    description: string,
    run: (users: UserAdminService, actor: Actor, userId: string) => Promise<TenantUser>,
  ) =>
    tenantCommand(user.command(`${name} <user>`).description(description)).action(
      async (id: string, options: TenantOptions) => {
        await inTenant(options, async (users, actor, { services }) => {
          const changed = await run(users, actor, await userIdOf(services, id));
          printRecord(io, options.json, toUserJson(changed));
        });
      },
    );
  change(
    'deactivate',
    'deactivate the user in the tenant: their sessions there end at once',
    (s, a, id) => s.deactivate(a, id),
  );
  change('activate', 'activate a deactivated user again', (s, a, id) => s.activate(a, id));

  tenantCommand(
    user
      .command('roles <user> <roles>')
      .description("set exactly these roles (comma-separated) as the user's roles in the tenant"),
  ).action(async (id: string, roles: string, options: TenantOptions) => {
    await inTenant(options, async (users, actor, { services }) => {
      const wanted = roles
        .split(',')
        .map((role) => role.trim())
        .filter((role) => role !== '');
      const changed = await users.setRoles(actor, await userIdOf(services, id), wanted);
      printRecord(io, options.json, toUserJson(changed));
    });
  });

  tenantCommand(
    user
      .command('delete <user>')
      .description(
        'remove the user from the tenant; the identity is erased when it belongs to no tenant',
      ),
  ).action(async (id: string, options: TenantOptions) => {
    await inTenant(options, async (users, actor, { services }) => {
      const userId = await userIdOf(services, id);
      const { erased } = await users.remove(actor, userId);
      if (options.json) printRecord(io, true, { removed: userId, erased });
      else
        io.stdout.write(`removed ${userId} from ${options.tenant}${erased ? ' (erased)' : ''}\n`);
    });
  });

  adminOptions(
    user
      .command('set-password <email>')
      .description(
        "set a user's password (from stdin or TESSERA_ADMIN_PASSWORD); all their sessions end",
      ),
  ).action(async (email: string, options: AdminOptions & { json?: boolean }, command: Command) => {
    await runAdmin(io, options, async ({ services }) => {
      const password = await readPassword(io);
      if (password === '') {
        command.error(
          'error: no password: write it as one line on stdin or set TESSERA_ADMIN_PASSWORD',
          { exitCode: 2 },
        );
      }
      const { user: changed, audited_in } = await services.tenancy.resetPassword(
        CLI_AUDIT_CONTEXT,
        email,
        password,
      );
      if (options.json) printRecord(io, true, { id: changed.id, email: changed.email, audited_in });
      else io.stdout.write(`password set for ${changed.email}; their sessions have ended\n`);
    });
  });
}
