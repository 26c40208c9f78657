import type { Command } from 'commander';
import type { ApiKeyRecord } from '../identity/api-keys/api-key-store.ts';
import { adminOptions, runAdmin } from './admin-session.ts';
import { cliActorIn } from './cli-actor.ts';
import { printRecord, printRows } from './output.ts';
import { type CliIo, PROCESS_IO } from './user.ts';

interface Common {
  readonly config?: string;
  readonly json?: boolean;
  readonly tenant: string;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const keyJson = ({ created_ms, expires_ms, last_used_ms, revoked_ms, ...key }: ApiKeyRecord) => ({
  ...key,
  created_at: iso(created_ms),
  expires_at: iso(expires_ms),
  last_used_at: iso(last_used_ms),
  revoked_at: iso(revoked_ms),
});

/** `tessera apikey ...`: the same rules (role, delegation, quota) and audit events as the API. */
export function registerApiKeyCommands(program: Command, io: CliIo = PROCESS_IO): void {
  const apikey = program.command('apikey').description("manage a tenant's API keys");
  const tenantOption = (command: Command) =>
    adminOptions(command.requiredOption('--tenant <id>', 'the tenant the key belongs to'));

  tenantOption(
    apikey
      .command('create')
      .description('create an API key and print its secret (shown this once only)')
      .requiredOption('--name <name>', 'what the key is for')
      .requiredOption('--role <role>', 'the one role the key acts with (built-in or custom)')
      .option('--expires <time>', 'RFC 3339 time after which the key stops working'),
  ).action(async (options: Common & { name: string; role: string; expires?: string }) => {
    await runAdmin(io, options, async ({ services }) => {
      const expires = options.expires === undefined ? null : Date.parse(options.expires);
      const { record, secret } = await services.identity.apiKeyAdmin.create(
        await cliActorIn(services.tenancy.tenants, options.tenant),
        {
          name: options.name,
          role: options.role,
          // An unparsable time is refused by the service like a past one: 400, exit 2.
          expires_ms: expires === null || Number.isFinite(expires) ? expires : 0,
        },
      );
      if (options.json) printRecord(io, true, { ...keyJson(record), key: secret });
      else io.stdout.write(`${secret}\n`);
    });
  });

  tenantOption(
    apikey
      .command('list')
      .description("list the tenant's API keys (never their secrets)")
      .option('--limit <n>', 'at most this many (1-1000)', '1000'),
  ).action(async (options: Common & { limit: string }) => {
    await runAdmin(io, options, async ({ services }) => {
      const limit = Math.min(1000, Math.max(1, Number.parseInt(options.limit, 10) || 1000));
      await cliActorIn(services.tenancy.tenants, options.tenant);
      const keys = await services.identity.apiKeyAdmin.list(options.tenant, { limit });
      printRows(io, options.json, keys.map(keyJson), [
        'id',
        'name',
        'role',
        'prefix',
        'created_at',
        'expires_at',
        'revoked_at',
      ]);
    });
  });

  tenantOption(
    apikey.command('revoke <id>').description('revoke an API key: it stops working at once'),
  ).action(async (id: string, options: Common) => {
    await runAdmin(io, options, async ({ services }) => {
      await services.identity.apiKeyAdmin.revoke(
        await cliActorIn(services.tenancy.tenants, options.tenant),
        id,
      );
      io.stdout.write(options.json ? `${JSON.stringify({ revoked: id })}\n` : `revoked ${id}\n`);
    });
  });
}
