import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { type FreshStorage, fixture } from './contract-fixture.ts';
import type { AnyKysely, Engine } from './database.ts';

async function createValues(db: AnyKysely): Promise<void> {
  await db.schema
    .createTable('vals')
    .addColumn('id', 'integer', (column) => column.primaryKey())
    .addColumn('text_value', 'text')
    .addColumn('int_value', 'bigint')
    .addColumn('flag', 'boolean')
    .execute();
}

const HOSTILE = [
  "'); DROP TABLE vals; --",
  "' OR '1'='1",
  '" OR ""="',
  "Robert'); DELETE FROM vals WHERE ('1'='1",
  '$1 ? ?1 :name @name',
  '\\x27; SELECT pg_sleep(10); --',
  '*/ SELECT 1; /*',
  '%_[]^\\',
];

/** Values go to the database as parameters, unchanged, whatever they contain. */
export function parameterContract(engine: Engine, freshStorage: FreshStorage): void {
  describe('parameters', () => {
    it('round-trip text, null, integers up to 2^53-1 and booleans', async (t) => {
      const { db } = await fixture(t, freshStorage);
      await createValues(db.kysely);
      const rows = [
        {
          id: 1,
          text_value: 'héllo wörld 日本語 𝄞 🎉 \u200b',
          int_value: Number.MAX_SAFE_INTEGER,
          flag: true,
        },
        { id: 2, text_value: '', int_value: Number.MIN_SAFE_INTEGER, flag: false },
        { id: 3, text_value: null, int_value: null, flag: null },
        { id: 4, text_value: 'line\nbreak\ttab "quotes" \'single\'', int_value: 0, flag: true },
      ];
      await db.kysely.insertInto('vals').values(rows).execute();
      const read = await db.kysely.selectFrom('vals').selectAll().orderBy('id').execute();
      // SQLite has no boolean type: true is stored and read back as 1.
      const bool = (value: boolean | null) =>
        engine === 'sqlite' && value !== null ? Number(value) : value;
      assert.deepEqual(
        read.map((row) => ({ ...row })),
        rows.map((row) => ({ ...row, flag: bool(row.flag) })),
      );
      const flagged = await db.kysely
        .selectFrom('vals')
        .select('id')
        .where('flag', '=', true)
        .orderBy('id')
        .execute();
      assert.deepEqual(
        flagged.map((row) => row.id),
        [1, 4],
        'a boolean parameter matches in WHERE',
      );
    });

    it('refuses to read an integer beyond 2^53-1 rather than round it', async (t) => {
      const { db } = await fixture(t, freshStorage);
      await createValues(db.kysely);
      await sql`INSERT INTO vals (id, int_value) VALUES (1, ${sql.raw('9007199254740993')})`.execute(
        db.kysely,
      );
      await assert.rejects(db.kysely.selectFrom('vals').select('int_value').execute());
      const { rows } = await sql<{ n: number }>`SELECT count(*) AS n FROM vals`.execute(db.kysely);
      assert.equal(rows[0]?.n, 1, 'count(*) is a number on both engines');
    });

    it('stores hostile strings verbatim and matches them only literally', async (t) => {
      const { db } = await fixture(t, freshStorage);
      await createValues(db.kysely);
      await db.kysely
        .insertInto('vals')
        .values(HOSTILE.map((text, i) => ({ id: i + 1, text_value: text })))
        .execute();
      const read = await db.kysely.selectFrom('vals').select('text_value').orderBy('id').execute();
      assert.deepEqual(
        read.map((row) => row.text_value),
        HOSTILE,
      );
      for (const text of HOSTILE) {
        const found = await db.kysely
          .selectFrom('vals')
          .select('id')
          .where('text_value', '=', text)
          .execute();
        assert.equal(found.length, 1, `exactly one row matches ${text}`);
      }
      const none = await db.kysely
        .selectFrom('vals')
        .select('id')
        .where('text_value', '=', "x' OR 1=1 --")
        .execute();
      assert.deepEqual(none, []);
      await db.transaction((trx) =>
        sql`UPDATE vals SET text_value = ${HOSTILE[0]} WHERE id = ${HOSTILE.length}`.execute(trx),
      );
      const { rows } = await sql<{ n: number }>`SELECT count(*) AS n FROM vals`.execute(db.kysely);
      assert.equal(rows[0]?.n, HOSTILE.length, 'the table is intact');
    });
  });
}
