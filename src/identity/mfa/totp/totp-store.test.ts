import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openTestDatabase, testEngines } from '../../../../test/helpers/test-database.ts';
import { MIGRATIONS } from '../../../migrations/index.ts';
import { migrateToLatest } from '../../../storage/migrate.ts';
import { createUserService } from '../../users/user-service.ts';
import { createTotpStore } from './totp-store.ts';

for (const engine of testEngines()) {
  describe(`the TOTP store's conditional statements (${engine})`, () => {
    it('an enrollment replaces a pending one but never an active one; steps only move forward', async (t) => {
      const { db, cleanup } = await openTestDatabase(engine);
      t.after(cleanup);
      await migrateToLatest(db, MIGRATIONS);
      const user = await createUserService(db).createUser({ email: 'sam@acme.test' });
      const store = createTotpStore(db.kysely);

      assert.equal(await store.startEnrollment(user.id, 'sealed-1', 1), true);
      assert.equal(await store.startEnrollment(user.id, 'sealed-2', 2), true, 'pending: replaced');
      assert.equal(
        await store.confirm(user.id, 'sealed-1', 10, 3),
        false,
        'not the pending secret',
      );
      assert.equal(await store.confirm(user.id, 'sealed-2', 10, 3), true);
      assert.equal(await store.confirm(user.id, 'sealed-2', 11, 4), false, 'already active');
      assert.equal(await store.startEnrollment(user.id, 'sealed-3', 5), false, 'active: kept');
      assert.equal((await store.find(user.id))?.secret, 'sealed-2');

      assert.equal(await store.spendStep(user.id, 10), false, 'the confirming step');
      assert.equal(await store.spendStep(user.id, 9), false);
      assert.equal(await store.spendStep(user.id, 11), true);
      const [a, b] = await Promise.all([
        store.spendStep(user.id, 12),
        store.spendStep(user.id, 12),
      ]);
      assert.equal(Number(a) + Number(b), 1, 'of two at once, one');

      assert.equal(await store.removeConfirmed(user.id), true);
      assert.equal(await store.removeConfirmed(user.id), false);
      assert.equal(await store.find(user.id), undefined);
    });
  });
}
