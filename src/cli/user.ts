import { createInterface } from 'node:readline';
import { type Command, CommanderError } from 'commander';
import { CLI_AUDIT_CONTEXT } from '../audit/audit-entry.ts';
import { type AuditLog, createAuditLog } from '../audit/audit-log.ts';
import { loadConfig } from '../config/load.ts';
import { IdentityErrors } from '../identity/errors.ts';
import { checkPasswordPolicy, hashPassword } from '../identity/login/passwords.ts';
import { createUserStore, normalizeEmail, type User } from '../identity/users/user-store.ts';
import { MIGRATIONS } from '../migrations/index.ts';
import { isTesseraError, TesseraError } from '../platform/errors.ts';
import { migrationStatus } from '../storage/migrate.ts';
import { type Database, openDatabase } from '../storage/open-database.ts';
import { createMembershipStore } from '../tenancy/memberships/membership-store.ts';
import { normalizeRoles, type RoleName, SYSTEM_TENANT_ID } from '../tenancy/role-names.ts';
import { checkTenantId } from '../tenancy/tenants/tenant-store.ts';

/** Same as EXIT_USAGE in program.ts (not imported: program.ts imports this file). */
const EXIT_USAGE = 2;

export interface NewUserRequest {
  readonly email: string;
  readonly name?: string | undefined;
  readonly password: string;
  /** Tenant id → role names to grant there. */
  readonly grants?: Readonly<Record<string, readonly string[]>>;
}

/**
 * Checks everything before writing, then creates the user and its memberships in one
 * transaction, so a bad tenant or a taken email leaves nothing behind. Throws 400
 * `invalid_email` / `weak_password` / `invalid_tenant` / `invalid_roles`, 409
 * `email_taken`, 404 `tenant_not_found`. With `audit`, records `user.created` by the CLI
 * in each tenant granted (`system` when none), last in the transaction.
 */
export async function createUserWithRoles(
  db: Database,
  request: NewUserRequest,
  options: {
    readonly passwordMinLength: number;
    readonly now?: () => number;
    readonly audit?: AuditLog;
  },
): Promise<User> {
  const email = normalizeEmail(request.email);
  const problems = checkPasswordPolicy(request.password, options.passwordMinLength);
  if (problems.length > 0) {
    throw new TesseraError(IdentityErrors.weak_password, `the password ${problems.join('; ')}`, {
      errors: problems.map((message) => ({ path: '/password', message })),
    });
  }
  const grants: [string, RoleName[]][] = Object.entries(request.grants ?? {}).map(
    ([tenantId, roles]) => {
      checkTenantId(tenantId);
      return [tenantId, normalizeRoles(roles)];
    },
  );
  const passwordHash = await hashPassword(request.password);
  return await db.transaction(async (trx) => {
    const user = await createUserStore({ kysely: trx }, options.now).createUser({
      email,
      name: request.name,
      password_hash: passwordHash,
    });
    const members = createMembershipStore({ kysely: trx }, options.now);
    for (const [tenantId, roles] of grants) await members.grant(tenantId, user.id, roles);
    const audited = grants.length > 0 ? grants : [[SYSTEM_TENANT_ID, []] as const];
    await options.audit?.inTransaction(
      trx,
      CLI_AUDIT_CONTEXT,
      audited.map(([tenantId, roles]) => ({
        tenant_id: tenantId,
        action: 'user.created',
        target: `user:${user.id}`,
        outcome: 'success',
        details: { email: user.email, roles },
      })),
    );
    return user;
  });
}

export interface CliIo {
  readonly env: NodeJS.ProcessEnv;
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
}

export const PROCESS_IO: CliIo = {
  env: process.env,
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
};

/**
 * TESSERA_ADMIN_PASSWORD when set, else the first line of stdin, never an argument:
 * arguments are visible to every local user in the process list and shell history.
 */
export async function readPassword(io: CliIo): Promise<string> {
  const fromEnv = io.env.TESSERA_ADMIN_PASSWORD;
  if (fromEnv) return fromEnv;
  if (io.stdin.isTTY) io.stderr.write('password: ');
  const lines = createInterface({ input: io.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) return line;
  return '';
}

interface CreateOptions {
  email: string;
  name?: string;
  tenant?: string;
  role?: string;
  platformAdmin?: boolean;
  config?: string;
}

export function registerUserCommands(program: Command, io: CliIo = PROCESS_IO): void {
  const user = program.command('user').description('manage users');
  user
    .command('create')
    .description('create a user (password from stdin or TESSERA_ADMIN_PASSWORD) and print its id')
    .requiredOption('--email <email>', 'email address (stored lower-cased)')
    .option('--name <name>', 'display name')
    .option('--tenant <id>', 'make the user a member of this tenant (needs --role)')
    .option('--role <roles>', 'role(s) in --tenant, comma-separated (e.g. developer,viewer)')
    .option('--platform-admin', 'grant admin in the system tenant (platform administrator)')
    .option('-c, --config <path>', 'configuration file (default: ./tessera.toml when present)')
    .action(async (options: CreateOptions, command: Command) => {
      if ((options.tenant === undefined) !== (options.role === undefined)) {
        command.error('error: --tenant and --role go together', { exitCode: EXIT_USAGE });
      }
      const { config } = loadConfig({ path: options.config, env: io.env });
      const password = await readPassword(io);
      if (password === '') {
        command.error(
          'error: no password: write it as one line on stdin or set TESSERA_ADMIN_PASSWORD',
          { exitCode: EXIT_USAGE },
        );
      }
      const db = await openDatabase(config.storage);
      try {
        await requireMigrated(db);
        const created = await createUserWithRoles(
          db,
          { email: options.email, name: options.name, password, grants: grantsOf(options) },
          { passwordMinLength: config.auth.password_min_length, audit: createAuditLog(db) },
        );
        io.stdout.write(`${created.id}\n`);
      } catch (error) {
        if (!isTesseraError(error) || error.status >= 500) throw error;
        io.stderr.write(`tessera: ${error.detail}\n`);
        throw new CommanderError(EXIT_USAGE, `tessera.${error.code}`, error.detail);
      } finally {
        await db.close();
      }
    });
}

function grantsOf(options: CreateOptions): Record<string, string[]> {
  const grants: Record<string, string[]> = {};
  if (options.tenant !== undefined && options.role !== undefined) {
    grants[options.tenant] = options.role.split(',').map((role) => role.trim());
  }
  if (options.platformAdmin) {
    grants[SYSTEM_TENANT_ID] = [...(grants[SYSTEM_TENANT_ID] ?? []), 'admin'];
  }
  return grants;
}

async function requireMigrated(db: Database): Promise<void> {
  const status = await migrationStatus(db, MIGRATIONS);
  if (status.pending.length > 0) {
    throw new Error(
      `the database at ${db.location} is not migrated (pending: ${status.pending.join(', ')}): ` +
        'run `tessera migrate` or start the server once first',
    );
  }
}
