import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { sql } from 'kysely';
import { openTestDatabase, testEngines } from '../../test/helpers/test-database.ts';
import type { Engine } from './database.ts';
import type { Database } from './open-database.ts';
import { isUniqueViolation } from './unique-violation.ts';

async function withTable(t: TestContext, engine: Engine): Promise<Database> {
  const test = await openTestDatabase(engine);
  t.after(() => test.cleanup());
  await sql`CREATE TABLE items (id text PRIMARY KEY, email text NOT NULL UNIQUE, n integer NOT NULL CHECK (n > 0))`.execute(
    test.db.kysely,
  );
  await sql`INSERT INTO items (id, email, n) VALUES ('a', 'a@example.com', 1)`.execute(
    test.db.kysely,
  );
  return test.db;
}

async function failureOf(statement: Promise<unknown>): Promise<unknown> {
  try {
    await statement;
  } catch (error) {
    return error;
  }
  assert.fail('the statement should have failed');
}

for (const engine of testEngines()) {
  describe(`isUniqueViolation (${engine})`, () => {
    it('recognises a duplicate in a UNIQUE column', async (t) => {
      const db = await withTable(t, engine);
      const error = await failureOf(
        sql`INSERT INTO items (id, email, n) VALUES ('b', 'a@example.com', 1)`.execute(db.kysely),
      );
      assert.equal(isUniqueViolation(error), true);
    });

    it('recognises a duplicate text primary key', async (t) => {
      const db = await withTable(t, engine);
      const error = await failureOf(
        sql`INSERT INTO items (id, email, n) VALUES ('a', 'b@example.com', 1)`.execute(db.kysely),
      );
      assert.equal(isUniqueViolation(error), true);
    });

    it('is false for other constraint failures and other errors', async (t) => {
      const db = await withTable(t, engine);
      const check = await failureOf(
        sql`INSERT INTO items (id, email, n) VALUES ('c', 'c@example.com', 0)`.execute(db.kysely),
      );
      assert.equal(isUniqueViolation(check), false);
      const notNull = await failureOf(
        sql`INSERT INTO items (id, n) VALUES ('d', 1)`.execute(db.kysely),
      );
      assert.equal(isUniqueViolation(notNull), false);
      const syntax = await failureOf(sql`SELEC 1`.execute(db.kysely));
      assert.equal(isUniqueViolation(syntax), false);
    });
  });
}

it('is false for values that are not database errors', () => {
  for (const value of [undefined, null, 'unique', 23505, new Error('23505'), { code: 23505 }]) {
    assert.equal(isUniqueViolation(value), false);
  }
});
