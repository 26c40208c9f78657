import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { openTestDatabase, testEngines } from '../../../test/helpers/test-database.ts';
import { CLI_AUDIT_CONTEXT } from '../../access/audit-context.ts';
import { createAuditLog } from '../../audit/audit-log.ts';
import { verifyPassword } from '../../identity/login/passwords.ts';
import { createUserStore } from '../../identity/users/user-store.ts';
import { MIGRATIONS } from '../../migrations/index.ts';
import type { Engine } from '../../storage/database.ts';
import { migrateToLatest } from '../../storage/migrate.ts';
import type { Database } from '../../storage/open-database.ts';
import { createMembershipStore } from '../memberships/membership-store.ts';
import { createTenantRegistry } from '../tenants/tenant-registry.ts';
import { createUserProvisioning, type NewUserRequest } from './user-provisioning.ts';

const PASSWORD = 'correct horse battery staple';

const provisioningOn = (db: Database) =>
  createUserProvisioning({ db, audit: createAuditLog(db), passwordMinLength: 8 });

async function migrated(t: TestContext, engine: Engine): Promise<Database> {
  const test = await openTestDatabase(engine);
  t.after(() => test.cleanup());
  await migrateToLatest(test.db, MIGRATIONS);
  await createTenantRegistry(test.db).create({ id: 'acme', name: 'Acme', plan: 'free' });
  return test.db;
}

for (const engine of testEngines()) {
  describe(`user provisioning (${engine})`, () => {
    it('creates the user with its password and memberships', async (t) => {
      const db = await migrated(t, engine);
      const user = await provisioningOn(db).create(CLI_AUDIT_CONTEXT, {
        email: 'Ada@Example.com',
        name: 'Ada',
        password: PASSWORD,
        grants: { acme: ['viewer'], system: ['admin'] },
      });
      assert.equal(user.email, 'ada@example.com');
      const stored = await createUserStore(db).findCredentials('ada@example.com');
      assert.equal(await verifyPassword(stored?.password_hash ?? '', PASSWORD), true);
      const members = createMembershipStore(db);
      assert.deepEqual(await members.rolesOf('acme', user.id), ['viewer']);
      assert.deepEqual(await members.rolesOf('system', user.id), ['admin']);
    });

    it('refuses bad input with a stable code and leaves nothing behind', async (t) => {
      const db = await migrated(t, engine);
      const provisioning = provisioningOn(db);
      await provisioning.create(CLI_AUDIT_CONTEXT, {
        email: 'taken@example.com',
        password: PASSWORD,
      });
      const cases: [NewUserRequest, string][] = [
        [{ email: 'taken@example.com', password: PASSWORD }, 'email_taken'],
        [{ email: 'new@example.com', password: 'short' }, 'weak_password'],
        [{ email: 'not-an-email', password: PASSWORD }, 'invalid_email'],
        [
          { email: 'new@example.com', password: PASSWORD, grants: { nope: ['viewer'] } },
          'tenant_not_found',
        ],
        [
          { email: 'new@example.com', password: PASSWORD, grants: { 'Bad Id': ['viewer'] } },
          'invalid_tenant',
        ],
        [
          { email: 'new@example.com', password: PASSWORD, grants: { acme: ['root'] } },
          'invalid_roles',
        ],
      ];
      for (const [request, code] of cases) {
        await assert.rejects(provisioning.create(CLI_AUDIT_CONTEXT, request), { code }, code);
      }
      // The unknown tenant was found only inside the transaction: the user was rolled back.
      assert.equal(await createUserStore(db).findByEmail('new@example.com'), undefined);
    });
  });
}
