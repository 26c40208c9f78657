import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { openTestDatabase, testEngines } from '../../../test/helpers/test-database.ts';
import { MIGRATIONS } from '../../migrations/index.ts';
import type { Engine } from '../../storage/database.ts';
import { migrateToLatest } from '../../storage/migrate.ts';
import type { Database } from '../../storage/open-database.ts';
import { normalizeEmail } from './normalize-email.ts';
import { createUserService } from './user-service.ts';
import { createUserStore } from './user-store.ts';

const T0 = Date.UTC(2025, 0, 1);

async function migrated(t: TestContext, engine: Engine): Promise<Database> {
  const test = await openTestDatabase(engine);
  t.after(() => test.cleanup());
  await migrateToLatest(test.db, MIGRATIONS);
  return test.db;
}

async function rejectsWith(promise: Promise<unknown>, code: string, status: number) {
  await assert.rejects(promise, (error: { code?: string; status?: number }) => {
    assert.equal(error.code, code);
    assert.equal(error.status, status);
    return true;
  });
}

describe('normalizeEmail', () => {
  it('trims and lower-cases', () => {
    assert.equal(normalizeEmail('  Ada.Lovelace@Example.COM \n'), 'ada.lovelace@example.com');
  });

  it('refuses what is not an address', () => {
    for (const email of ['', 'ada', '@example.com', 'ada@', 'a da@example.com', 'a@b@c']) {
      assert.throws(() => normalizeEmail(email), { code: 'invalid_email' }, email);
    }
    assert.throws(() => normalizeEmail(`${'a'.repeat(65)}@example.com`), { code: 'invalid_email' });
    assert.throws(() => normalizeEmail(`a@${'b'.repeat(260)}.com`), { code: 'invalid_email' });
  });
});

for (const engine of testEngines()) {
  describe(`user service and store (${engine})`, () => {
    it('creates a user with a normalised email and finds it by email and id', async (t) => {
      const users = createUserService(await migrated(t, engine), () => T0);
      const created = await users.createUser({ email: ' Ada@Example.com ', name: 'Ada' });
      assert.match(created.id, /^[0-9a-f-]{36}$/);
      assert.deepEqual(created, {
        id: created.id,
        email: 'ada@example.com',
        name: 'Ada',
        status: 'active',
        email_verified: false,
        created_ms: T0,
        updated_ms: T0,
      });
      assert.deepEqual(await users.findByEmail('ADA@example.com'), created);
      assert.deepEqual(await users.findById(created.id), created);
      assert.equal(await users.findByEmail('nobody@example.com'), undefined);
      assert.equal(await users.findByEmail('not an email'), undefined);
      assert.equal(await users.findById('00000000-0000-0000-0000-000000000000'), undefined);
    });

    it('never returns the password hash except from findCredentials', async (t) => {
      const users = createUserService(await migrated(t, engine));
      const created = await users.createUser({ email: 'a@example.com', password_hash: 'H1' });
      for (const user of [created, await users.findByEmail('a@example.com')]) {
        assert.equal(Object.hasOwn(user ?? {}, 'password_hash'), false);
      }
      assert.deepEqual(await users.findCredentials('A@example.com'), {
        user: created,
        password_hash: 'H1',
      });
      await users.createUser({ email: 'sso@example.com' });
      assert.equal((await users.findCredentials('sso@example.com'))?.password_hash, null);
      assert.equal(await users.findCredentials('nobody@example.com'), undefined);
    });

    it('refuses a second user with the same email, whatever its case', async (t) => {
      const users = createUserService(await migrated(t, engine));
      await users.createUser({ email: 'ada@example.com' });
      await rejectsWith(users.createUser({ email: 'ADA@example.com ' }), 'email_taken', 409);
    });

    it('lets exactly one of many concurrent sign-ups with one email win', async (t) => {
      const users = createUserService(await migrated(t, engine));
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, () => users.createUser({ email: 'race@example.com' })),
      );
      assert.equal(results.filter((result) => result.status === 'fulfilled').length, 1);
      for (const result of results) {
        if (result.status === 'rejected') assert.equal(result.reason.code, 'email_taken');
      }
    });

    it('sets a password hash, and reports an unknown user', async (t) => {
      let time = T0;
      const users = createUserService(await migrated(t, engine), () => time);
      const user = await users.createUser({ email: 'a@example.com' });
      time = T0 + 5;
      await users.setPasswordHash(user.id, 'H2');
      const credentials = await users.findCredentials('a@example.com');
      assert.equal(credentials?.password_hash, 'H2');
      assert.equal(credentials?.user.updated_ms, T0 + 5);
      await rejectsWith(users.setPasswordHash('missing', 'H'), 'user_not_found', 404);
    });

    it('stores report outcomes, the service answers with API errors', async (t) => {
      const store = createUserStore(await migrated(t, engine));
      const inserted = await store.insert({ email: 'ada@example.com' });
      assert.equal(inserted.ok, true);
      assert.deepEqual(await store.insert({ email: 'ada@example.com' }), {
        ok: false,
        reason: 'email_taken',
        email: 'ada@example.com',
      });
      assert.equal(await store.updatePasswordHash('missing', 'H'), false);
      if (inserted.ok) assert.equal(await store.updatePasswordHash(inserted.user.id, 'H'), true);
    });
  });
}
