import type { Command } from 'commander';
import { CLI_AUDIT_CONTEXT } from '../access/audit-context.ts';
import { composeServices } from '../composition-root.ts';
import { loadConfig } from '../config/load.ts';
import { openDatabase } from '../storage/open-database.ts';
import { SYSTEM_TENANT_ID } from '../tenancy/role-names.ts';
import { adminOptions, requireMigrated, runAdmin } from './admin-session.ts';
import { printRows } from './output.ts';
import { type CliIo, PROCESS_IO } from './user.ts';

export interface RotateOptions {
  /** Configuration file; default ./tessera.toml when present. */
  readonly config?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
}

export function registerKeysCommands(program: Command, io: CliIo = PROCESS_IO): void {
  const keys = program.command('keys').description('manage the keys that sign access tokens');

  adminOptions(
    keys.command('list').description('list the signing keys, newest first (no key material)'),
  ).action(async (options: { config?: string; json?: boolean }) => {
    await runAdmin(io, options, async ({ services }) => {
      const listed = (await services.identity.keys.list()).map(
        ({ created_ms, retired_ms, ...key }) => ({
          ...key,
          created_at: new Date(created_ms).toISOString(),
          retired_at: retired_ms === null ? null : new Date(retired_ms).toISOString(),
        }),
      );
      printRows(io, options.json, listed, [
        'kid',
        'algorithm',
        'state',
        'created_at',
        'retired_at',
      ]);
    });
  });

  keys
    .command('rotate')
    .description(
      'create a new signing key, published at once; it signs every token after ' +
        'auth.key_publish_ahead_seconds (the current key signs until then), while the previous ' +
        'keys keep verifying the tokens they signed until those expire',
    )
    .option('-c, --config <path>', 'configuration file (default: ./tessera.toml when present)')
    .action(async (options: { config?: string }) => {
      const { kid, signs_from_ms, engine, location } = await rotateSigningKey({
        config: options.config,
        env: io.env,
      });
      io.stdout.write(
        `new signing key ${kid} (${engine} ${location}), published now, signing from ` +
          `${new Date(signs_from_ms).toISOString()} (auth.key_publish_ahead_seconds)\n`,
      );
    });
}

/**
 * Rotation is a database write, so every node sees the new key within seconds. The
 * master key must be the one the servers use: rotation refuses to add a key the
 * current one cannot be checked against (see `SigningKeys.rotate`).
 */
export async function rotateSigningKey(
  options: RotateOptions = {},
): Promise<{ kid: string; signs_from_ms: number; engine: string; location: string }> {
  const { config } = loadConfig({ path: options.config, env: options.env });
  const db = await openDatabase(config.storage);
  try {
    await requireMigrated(db);
    const { identity, audit } = composeServices(db, config, options.env, {
      masterKey: 'when-needed',
    });
    const { kid, signs_from_ms } = await identity.keys.rotate((trx, created) =>
      audit.inTransaction(trx, CLI_AUDIT_CONTEXT, [
        {
          tenant_id: SYSTEM_TENANT_ID,
          action: 'signing_key.rotated',
          target: `signing_key:${created}`,
          outcome: 'success',
        },
      ]),
    );
    return { kid, signs_from_ms, engine: db.engine, location: db.location };
  } finally {
    await db.close();
  }
}
