import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { Command } from 'commander';
import type { Kysely } from 'kysely';
import {
  type TestStorage,
  testEngines,
  testStorageConfig,
} from '../../test/helpers/test-database.ts';
import { loadMasterKey, MASTER_KEY_ENV } from '../identity/tokens/master-key.ts';
import { createSigningKeys } from '../identity/tokens/signing-keys.ts';
import { MIGRATIONS } from '../migrations/index.ts';
import type { Engine } from '../storage/database.ts';
import { migrateToLatest } from '../storage/migrate.ts';
import { openDatabase } from '../storage/open-database.ts';
import { registerKeysCommands, rotateSigningKey } from './keys.ts';

type KeyRows = Kysely<{
  signing_keys: { kid: string; retired_ms: number | null; created_ms: number };
}>;

/** A fresh database and a tessera.toml pointing at it, as an operator would have. */
async function deployment(t: TestContext, engine: Engine, migrate = true) {
  const target: TestStorage = await testStorageConfig(engine);
  t.after(() => target.cleanup());
  const { data_dir, database_url } = target.storage;
  const config = join(data_dir, 'tessera.toml');
  writeFileSync(
    config,
    `[storage]\ndata_dir = ${JSON.stringify(data_dir)}\ndatabase_url = ${JSON.stringify(database_url)}\n`,
  );
  const withDb = async <T>(fn: (db: Awaited<ReturnType<typeof openDatabase>>) => Promise<T>) => {
    const db = await openDatabase(target.storage);
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  };
  if (migrate) await withDb((db) => migrateToLatest(db, MIGRATIONS));
  const keyRows = () =>
    withDb((db) =>
      (db.kysely as KeyRows)
        .selectFrom('signing_keys')
        .select(['kid', 'retired_ms'])
        .orderBy('created_ms')
        .execute(),
    );
  /** What the server does at start-up. */
  const startServer = (masterKey: Buffer) =>
    withDb((db) => createSigningKeys(db, masterKey, { accessTtlSeconds: 900 }).ensureKey());
  return { config, storage: target.storage, keyRows, startServer };
}

for (const engine of testEngines()) {
  describe(`tessera keys rotate (${engine})`, () => {
    it('adds a key that signs from now on and retires the previous one', async (t) => {
      const { config, keyRows, startServer } = await deployment(t, engine);
      const master = randomBytes(32);
      const { kid: first } = await startServer(master);
      const env = { [MASTER_KEY_ENV]: master.toString('base64') };
      const { kid } = await rotateSigningKey({ config, env });
      assert.notEqual(kid, first);
      const rows = await keyRows();
      assert.deepEqual(
        rows.map((row) => row.kid),
        [first, kid],
      );
      assert.equal(typeof rows[0]?.retired_ms, 'number');
      assert.equal(rows[1]?.retired_ms, null);
    });

    it('uses <data_dir>/master.key when TESSERA_MASTER_KEY is not set', async (t) => {
      const { config, storage, keyRows, startServer } = await deployment(t, engine);
      await startServer(loadMasterKey(storage, {}));
      const { kid } = await rotateSigningKey({ config, env: {} });
      assert.equal((await keyRows()).at(-1)?.kid, kid);
    });

    it('refuses a master key that cannot open the current key, and adds nothing', async (t) => {
      const { config, keyRows, startServer } = await deployment(t, engine);
      await startServer(randomBytes(32));
      const env = { [MASTER_KEY_ENV]: randomBytes(32).toString('base64') };
      await assert.rejects(
        rotateSigningKey({ config, env }),
        /cannot be decrypted with this master key/,
      );
      assert.equal((await keyRows()).length, 1);
    });

    it('refuses an unmigrated database', async (t) => {
      const { config } = await deployment(t, engine, false);
      const env = { [MASTER_KEY_ENV]: randomBytes(32).toString('base64') };
      await assert.rejects(rotateSigningKey({ config, env }), /not migrated.*tessera migrate/);
    });
  });
}

describe('tessera keys (commander wiring)', () => {
  it('has a rotate subcommand with --help', async () => {
    const program = new Command('tessera').exitOverride();
    registerKeysCommands(program);
    let help = '';
    const keys = program.commands.find((command) => command.name() === 'keys');
    const rotate = keys?.commands.find((command) => command.name() === 'rotate');
    assert.ok(rotate);
    rotate.exitOverride().configureOutput({ writeOut: (text) => (help += text) });
    await assert.rejects(program.parseAsync(['keys', 'rotate', '--help'], { from: 'user' }), {
      exitCode: 0,
    });
    assert.match(help, /Usage: tessera keys rotate \[options\]/);
    assert.match(help, /-c, --config <path>/);
  });
});
