import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { buildTestApp } from '../../test/helpers/app.ts';
import {
  assertRestored,
  checkpointEveryChain,
  dumpTables,
  emptyDatabase,
  forgeManifest,
  masterKeyOf,
  migratedDatabase,
  signingKeyOf,
  TEST_SIGNING_KEY,
} from '../../test/helpers/backup-fixture.ts';
import { tempDirFor } from '../../test/helpers/temp-dir.ts';
import { testEngines } from '../../test/helpers/test-database.ts';
import { MIGRATIONS } from '../migrations/index.ts';
import type { Engine } from '../storage/database.ts';
import { migrateToLatest, migrationStatus } from '../storage/migrate.ts';
import type { Database } from '../storage/open-database.ts';
import { openBackup } from './read-backup.ts';
import { restoreBackup } from './restore.ts';
import { createBackup } from './write-backup.ts';

/** A backup of an app with a tenant and a few events; the app stays open for comparison. */
async function sourceBackup(t: TestContext, engine: Engine, key?: Buffer) {
  const source = await buildTestApp({}, engine);
  t.after(() => source.close());
  // As the server does at start-up: a signing key, sealed with the master key.
  await source.services.identity.keys.ensureKey();
  for (let i = 0; i < 5; i++) {
    const reply = await source.app.inject({
      method: 'POST',
      url: '/api/v1/events',
      payload: { entity_id: 'order-1', event_type: 'placed', payload: { i } },
    });
    assert.equal(reply.statusCode, 201);
  }
  await checkpointEveryChain(source);
  const signingKey = signingKeyOf(source.config.storage);
  const dir = tempDirFor(t, 'tessera-backup-');
  const file = await createBackup(source.db, { dir, key, signingKey });
  return { source, file, masterKey: masterKeyOf(source.config.storage), signingKey };
}

/** A target holding data of its own. */
async function usedDatabase(t: TestContext, engine: Engine) {
  const target = await migratedDatabase(t, engine);
  await target.db.kysely
    .insertInto('tenants')
    .values({
      id: 'other',
      name: 'Other',
      plan: 'free',
      status: 'active',
      created_ms: 1,
      updated_ms: 1,
    })
    .execute();
  return target;
}

async function assertUnchanged(db: Database, before: Awaited<ReturnType<typeof dumpTables>>) {
  assert.deepEqual(await dumpTables(db), before);
}

for (const engine of testEngines()) {
  describe(`restore targets (${engine})`, () => {
    it('restores into a migrated database nobody used, without --force', async (t) => {
      const { source, file, masterKey, signingKey } = await sourceBackup(t, engine);
      const target = await migratedDatabase(t, engine);
      await restoreBackup(target.db, file.path, { signingKey, masterKey });
      assertRestored(
        await dumpTables(source.db),
        await dumpTables(target.db),
        file.manifest.events.head_position,
      );
    });

    it('refuses a database with data, changing nothing, and replaces it with force', async (t) => {
      const { source, file, masterKey, signingKey } = await sourceBackup(t, engine);
      const target = await usedDatabase(t, engine);
      const before = await dumpTables(target.db);
      await assert.rejects(restoreBackup(target.db, file.path, { signingKey, masterKey }), {
        code: 'restore_target_not_empty',
        message: /holds data \(tenants\).*--force/,
      });
      await assertUnchanged(target.db, before);
      await restoreBackup(target.db, file.path, { signingKey, masterKey, force: true });
      const restored = await dumpTables(target.db);
      assertRestored(await dumpTables(source.db), restored, file.manifest.events.head_position);
      assert.ok(!restored.tenants?.some((row) => row.includes('"other"')));
    });

    it('refuses signing keys the target cannot open, changing nothing', async (t) => {
      const { file, signingKey } = await sourceBackup(t, engine);
      const target = await emptyDatabase(t, engine);
      for (const masterKey of [randomBytes(32), undefined]) {
        await assert.rejects(restoreBackup(target.db, file.path, { signingKey, masterKey }), {
          code: 'backup_master_key_mismatch',
        });
      }
      assert.equal((await migrationStatus(target.db, MIGRATIONS)).current, 0);
    });

    it('needs the encryption key an encrypted backup was made with', async (t) => {
      const key = randomBytes(32);
      const { source, file, masterKey, signingKey } = await sourceBackup(t, engine, key);
      assert.ok(file.manifest.encryption);
      const target = await emptyDatabase(t, engine);
      await assert.rejects(restoreBackup(target.db, file.path, { signingKey, masterKey }), {
        code: 'backup_key_required',
      });
      await assert.rejects(
        restoreBackup(target.db, file.path, { signingKey, masterKey, key: randomBytes(32) }),
        {
          code: 'backup_key_mismatch',
        },
      );
      await restoreBackup(target.db, file.path, { signingKey, masterKey, key });
      assertRestored(
        await dumpTables(source.db),
        await dumpTables(target.db),
        file.manifest.events.head_position,
      );
    });

    it('refuses a damaged backup and one from a newer schema, changing nothing', async (t) => {
      const { file, masterKey, signingKey } = await sourceBackup(t, engine);
      const target = await usedDatabase(t, engine);
      const before = await dumpTables(target.db);
      const opened = await openBackup(file.path);
      await opened.close();
      const entries = [...opened.entries.values()];
      const newer = join(tempDirFor(t, 'tessera-backup-'), 'newer.tar');
      forgeManifest(
        file.path,
        newer,
        entries,
        (manifest) => {
          manifest.schema_version = 999;
        },
        signingKey,
      );
      await assert.rejects(
        restoreBackup(target.db, newer, { signingKey, masterKey, force: true }),
        {
          code: 'backup_schema_newer',
        },
      );
      const damaged = join(tempDirFor(t, 'tessera-backup-'), 'damaged.tar');
      forgeManifest(
        file.path,
        damaged,
        entries,
        (manifest) => {
          (manifest.tables as { rows: number }[])[0]!.rows += 1;
        },
        signingKey,
      );
      await assert.rejects(
        restoreBackup(target.db, damaged, { signingKey, masterKey, force: true }),
        {
          code: 'backup_invalid',
          message: /tables\/tessera_meta\.ndjson\.gz: \d+ rows, the manifest says/,
        },
      );
      await assertUnchanged(target.db, before);
    });

    it('restores a backup of an older schema into a newer one, then migrates it', async (t) => {
      // A deployment still at schema 8, before the lockout tables existed.
      const old = await emptyDatabase(t, engine);
      await migrateToLatest(old.db, MIGRATIONS.slice(0, 8));
      await old.db.kysely
        .insertInto('users')
        .values({
          id: 'u1',
          email: 'old@example.com',
          status: 'active',
          created_ms: 1,
          updated_ms: 1,
        })
        .execute();
      const signingKey = TEST_SIGNING_KEY;
      const file = await createBackup(old.db, {
        dir: tempDirFor(t, 'tessera-backup-'),
        signingKey,
      });
      assert.equal(file.manifest.schema_version, 8);
      assert.ok(!file.manifest.tables.some((part) => part.table === 'account_lockouts'));

      const target = await usedDatabase(t, engine);
      await restoreBackup(target.db, file.path, { signingKey, masterKey: undefined, force: true });
      const status = await migrationStatus(target.db, MIGRATIONS);
      assert.deepEqual([status.current, status.pending], [MIGRATIONS.at(-1)?.version, []]);
      const restored = await dumpTables(target.db);
      assert.deepEqual(restored.account_lockouts, []);
      assert.equal(restored.users?.length, 1);
      assert.ok(!restored.tenants?.some((row) => row.includes('"other"')));
    });
  });
}
