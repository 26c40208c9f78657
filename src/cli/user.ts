import { createInterface } from 'node:readline';
import { type Command, CommanderError } from 'commander';
import { CLI_AUDIT_CONTEXT } from '../access/audit-context.ts';
import { composeServices } from '../composition-root.ts';
import { loadConfig } from '../config/load.ts';
import { isTesseraError } from '../platform/errors.ts';
import { openDatabase } from '../storage/open-database.ts';
import { SYSTEM_TENANT_ID } from '../tenancy/role-names.ts';
import { requireMigrated } from './admin-session.ts';

/** Same as EXIT_USAGE in program.ts (not imported: program.ts imports this file). */
const EXIT_USAGE = 2;

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
        const { provisioning } = composeServices(db, config, io.env, {
          masterKey: 'when-needed',
        }).tenancy;
        const created = await provisioning.create(CLI_AUDIT_CONTEXT, {
          email: options.email,
          name: options.name,
          password,
          grants: grantsOf(options),
        });
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
