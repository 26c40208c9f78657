import type { Command } from 'commander';
import { CLI_AUDIT_CONTEXT } from '../access/audit-context.ts';
import { toTenantJson } from '../tenancy/tenants/tenant-json.ts';
import type { TenantService } from '../tenancy/tenants/tenant-service.ts';
import { type AdminSession, adminOptions, runAdmin } from './admin-session.ts';
import { printRecord, printRows } from './output.ts';
import { registerTenantQuotaCommands } from './tenant-quotas.ts';
import { type CliIo, PROCESS_IO, readPassword } from './user.ts';

interface Common {
  readonly config?: string;
  readonly json?: boolean;
}

const TENANT_COLUMNS = ['id', 'name', 'plan', 'status', 'created_at', 'deleted_at'];

function tenantService({ services }: AdminSession): TenantService {
  return services.tenancy.tenantAdmin;
}

/** `tessera tenant ...`: the same rules and audit events as the /tenants routes. */
export function registerTenantCommands(program: Command, io: CliIo = PROCESS_IO): void {
  const tenant = program.command('tenant').description('manage tenants');

  adminOptions(
    tenant
      .command('create')
      .description(
        'create a tenant, optionally with its first admin (a new user reads a password from stdin or TESSERA_ADMIN_PASSWORD)',
      )
      .requiredOption('--id <id>', 'lower-case slug: a-z, 0-9 and -')
      .requiredOption('--name <name>', 'display name')
      .option('--plan <plan>', 'plan, which sets the default quotas', 'free')
      .option('--admin-email <email>', 'make this user (created when new) the tenant admin'),
  ).action(
    async (options: Common & { id: string; name: string; plan: string; adminEmail?: string }) => {
      await runAdmin(io, options, async (session) => {
        const service = tenantService(session);
        const email = options.adminEmail;
        const existing =
          email === undefined
            ? undefined
            : await session.services.identity.users.findByEmail(email);
        const admin =
          email === undefined
            ? undefined
            : { email, password: existing ? undefined : await readPassword(io) };
        const created = await service.create(
          CLI_AUDIT_CONTEXT,
          { id: options.id, name: options.name, plan: options.plan },
          admin,
        );
        printRecord(io, options.json, toTenantJson(created));
      });
    },
  );

  adminOptions(
    tenant
      .command('list')
      .description('list tenants by id')
      .option('--include-deleted', 'also list deleted tenants')
      .option('--after <id>', 'start after this id')
      .option('--limit <n>', 'at most this many (1-1000)', '1000'),
  ).action(
    async (options: Common & { includeDeleted?: boolean; after?: string; limit: string }) => {
      await runAdmin(io, options, async (session) => {
        const tenants = await tenantService(session).list({
          after: options.after,
          limit: Math.min(1000, Math.max(1, Number.parseInt(options.limit, 10) || 1000)),
          include_deleted: options.includeDeleted,
        });
        printRows(io, options.json, tenants.map(toTenantJson), TENANT_COLUMNS);
      });
    },
  );

  adminOptions(tenant.command('show <id>').description('show one tenant')).action(
    async (id: string, options: Common) => {
      await runAdmin(io, options, async (session) => {
        printRecord(io, options.json, toTenantJson(await tenantService(session).get(id)));
      });
    },
  );

  const change = (
    name: string,
    description: string,
    run: (s: TenantService, id: string) => Promise<unknown>,
  ) =>
    adminOptions(tenant.command(`${name} <id>`).description(description)).action(
      async (id: string, options: Common) => {
        await runAdmin(io, options, async (session) => {
          const service = tenantService(session);
          await run(service, id);
          if (name === 'delete')
            io.stdout.write(
              options.json ? `${JSON.stringify({ deleted: id })}\n` : `deleted ${id}\n`,
            );
          else printRecord(io, options.json, toTenantJson(await service.get(id)));
        });
      },
    );
  change('activate', 'let a suspended tenant work again', (s, id) =>
    s.setStatus(CLI_AUDIT_CONTEXT, id, 'active'),
  );
  change(
    'deactivate',
    'suspend a tenant: its keys and sessions are refused until it is activated',
    (s, id) => s.setStatus(CLI_AUDIT_CONTEXT, id, 'suspended'),
  );
  change(
    'delete',
    'delete a tenant (soft: its id stays taken, its credentials die at once)',
    (s, id) => s.remove(CLI_AUDIT_CONTEXT, id),
  );
  registerTenantQuotaCommands(tenant, io);
}
