import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { MIGRATIONS } from '../migrations/index.ts';
import { type FreshStorage, fixture } from './contract-fixture.ts';
import type { Engine } from './database.ts';
import { ensureDeploymentId } from './deployment.ts';
import { type Migration, migrateToLatest, migrationChecksum, migrationStatus } from './migrate.ts';
import type { Database } from './open-database.ts';

// Several statements each, as real migrations have.
const ITEMS: Migration = {
  version: 1,
  name: 'items',
  sqlite:
    'CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT NOT NULL);\nCREATE INDEX items_label ON items (label);',
  postgres:
    'CREATE TABLE items (id integer PRIMARY KEY, label text NOT NULL);\nCREATE INDEX items_label ON items (label);',
};
const TAGS: Migration = {
  version: 2,
  name: 'tags',
  sqlite:
    "CREATE TABLE tags (name TEXT PRIMARY KEY);\nINSERT INTO tags (name) VALUES ('a;b'), ('c');",
  postgres:
    "CREATE TABLE tags (name text PRIMARY KEY);\nINSERT INTO tags (name) VALUES ('a;b'), ('c');",
};
const NOTES: Migration = {
  version: 3,
  name: 'notes',
  sqlite: 'CREATE TABLE notes (id INTEGER PRIMARY KEY);',
  postgres: 'CREATE TABLE notes (id integer PRIMARY KEY);',
};
const BROKEN_TAGS: Migration = {
  ...TAGS,
  sqlite: 'CREATE TABLE tags (name TEXT PRIMARY KEY);\nINSERT INTO no_such_table VALUES (1);',
  postgres: 'CREATE TABLE tags (name text PRIMARY KEY);\nINSERT INTO no_such_table VALUES (1);',
};

async function ledger(
  db: Database,
): Promise<{ version: number; name: string; checksum: string }[]> {
  const rows = await db.kysely
    .selectFrom('tessera_migrations')
    .select(['version', 'name', 'checksum'])
    .orderBy('version')
    .execute();
  return rows.map((row) => ({ ...row }));
}

async function tagNames(db: Database): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`SELECT name FROM tags ORDER BY name`.execute(
    db.kysely,
  );
  return rows.map((row) => row.name);
}

export function migrationContract(engine: Engine, freshStorage: FreshStorage): void {
  describe(`migrations (${engine})`, () => {
    it('applies every migration to an empty database and records each with its checksum', async (t) => {
      const { db } = await fixture(t, freshStorage);
      assert.deepEqual(await migrationStatus(db, [ITEMS, TAGS]), {
        current: 0,
        latest: 2,
        pending: [1, 2],
      });
      assert.deepEqual(await migrateToLatest(db, [ITEMS, TAGS]), { applied: [1, 2] });
      assert.deepEqual(await ledger(db), [
        { version: 1, name: 'items', checksum: migrationChecksum(ITEMS, engine) },
        { version: 2, name: 'tags', checksum: migrationChecksum(TAGS, engine) },
      ]);
      assert.deepEqual(await tagNames(db), ['a;b', 'c'], 'every statement of a script ran');
      assert.deepEqual(await migrationStatus(db, [ITEMS, TAGS]), {
        current: 2,
        latest: 2,
        pending: [],
      });
    });

    it('does nothing when migrating again, and applies only what is new', async (t) => {
      const { db } = await fixture(t, freshStorage);
      assert.deepEqual(await migrateToLatest(db, [ITEMS]), { applied: [1] });
      assert.deepEqual(await migrateToLatest(db, [ITEMS]), { applied: [] });
      assert.deepEqual(await migrationStatus(db, [ITEMS, TAGS]), {
        current: 1,
        latest: 2,
        pending: [2],
      });
      assert.deepEqual(await migrateToLatest(db, [ITEMS, TAGS]), { applied: [2] });
      assert.deepEqual(await migrateToLatest(db, [ITEMS, TAGS]), { applied: [] });
    });

    it('applies each migration once when two handles migrate at the same time', async (t) => {
      const { db, open } = await fixture(t, freshStorage);
      const other = await open();
      const results = await Promise.all([
        migrateToLatest(db, [ITEMS, TAGS]),
        migrateToLatest(other, [ITEMS, TAGS]),
      ]);
      const applied = results.flatMap((result) => result.applied).sort();
      assert.deepEqual(applied, [1, 2]);
      assert.deepEqual(
        (await ledger(other)).map((row) => row.version),
        [1, 2],
      );
      assert.deepEqual(await tagNames(db), ['a;b', 'c'], 'the data step ran once');
    });

    it('refuses a migration edited after it was applied, naming its version', async (t) => {
      const { db } = await fixture(t, freshStorage);
      await migrateToLatest(db, [ITEMS]);
      const edited: Migration = {
        ...ITEMS,
        [engine]: `${ITEMS[engine]}\nCREATE INDEX items_id ON items (id);`,
      };
      await assert.rejects(
        migrateToLatest(db, [edited, TAGS]),
        /migration 1 \(items\).*never edited/,
      );
      assert.deepEqual(await migrationStatus(db, [ITEMS, TAGS]), {
        current: 1,
        latest: 2,
        pending: [2],
      });
    });

    it('refuses a database newer than the code', async (t) => {
      const { db } = await fixture(t, freshStorage);
      await migrateToLatest(db, [ITEMS, TAGS]);
      await assert.rejects(migrateToLatest(db, [ITEMS]), /migration 2 .*newer than the code/);
      assert.deepEqual(await migrationStatus(db, [ITEMS]), { current: 2, latest: 1, pending: [] });
    });

    it('refuses a new migration numbered below one already applied', async (t) => {
      const { db } = await fixture(t, freshStorage);
      await migrateToLatest(db, [ITEMS, NOTES]);
      await assert.rejects(
        migrateToLatest(db, [ITEMS, TAGS, NOTES]),
        /migration 2 is pending but 3/,
      );
    });

    it('rolls back the whole run when a statement fails', async (t) => {
      const { db } = await fixture(t, freshStorage);
      await assert.rejects(migrateToLatest(db, [ITEMS, BROKEN_TAGS]), /no_such_table/);
      assert.deepEqual(await migrationStatus(db, [ITEMS, TAGS]), {
        current: 0,
        latest: 2,
        pending: [1, 2],
      });
      assert.deepEqual(await migrateToLatest(db, [ITEMS, TAGS]), { applied: [1, 2] });
    });

    it('keeps one deployment id across calls, handles and concurrent first calls', async (t) => {
      const { db, open } = await fixture(t, freshStorage);
      const other = await open();
      await Promise.all([migrateToLatest(db, MIGRATIONS), migrateToLatest(other, MIGRATIONS)]);
      const [first, second] = await Promise.all([
        ensureDeploymentId(db),
        ensureDeploymentId(other),
      ]);
      assert.match(
        first ?? '',
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      assert.equal(second, first);
      assert.equal(await ensureDeploymentId(db), first);
      await other.close();
      const third = await open();
      assert.equal(await ensureDeploymentId(third), first);
    });
  });
}
