import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { openTestDatabase, testEngines } from '../../../test/helpers/test-database.ts';
import { createUserService } from '../../identity/users/user-service.ts';
import { MIGRATIONS } from '../../migrations/index.ts';
import type { Engine } from '../../storage/database.ts';
import { migrateToLatest } from '../../storage/migrate.ts';
import { normalizeRoles } from '../role-names.ts';
import { createTenantRegistry } from '../tenants/tenant-registry.ts';
import { grantRoles } from './grant-roles.ts';
import { createMembershipStore } from './membership-store.ts';

const T0 = Date.UTC(2025, 0, 1);

async function fixture(t: TestContext, engine: Engine) {
  const test = await openTestDatabase(engine);
  t.after(() => test.cleanup());
  await migrateToLatest(test.db, MIGRATIONS);
  const users = createUserService(test.db);
  const tenants = createTenantRegistry(test.db);
  await tenants.create({ id: 'acme', name: 'Acme', plan: 'free' });
  await tenants.create({ id: 'globex', name: 'Globex', plan: 'free' });
  return {
    tenants,
    members: createMembershipStore(test.db, () => T0),
    // The rules of a grant are grant-roles.ts's; the store writes what they allow.
    grant: (tenantId: string, userId: string, roles: readonly string[]) =>
      test.db.transaction((trx) => grantRoles(trx, tenantId, userId, roles, () => T0)),
    ada: await users.createUser({ email: 'ada@example.com', name: 'Ada' }),
    bob: await users.createUser({ email: 'bob@example.com' }),
  };
}

function rejectsWith(promise: Promise<unknown>, code: string, status: number) {
  return assert.rejects(promise, (error: { code?: string; status?: number }) => {
    assert.equal(error.code, code);
    assert.equal(error.status, status);
    return true;
  });
}

describe('normalizeRoles', () => {
  it('keeps known roles once, in canonical order', () => {
    assert.deepEqual(normalizeRoles(['viewer', 'admin', 'viewer']), ['admin', 'viewer']);
  });

  it('refuses unknown roles and an empty list', () => {
    assert.throws(() => normalizeRoles(['admin', 'root']), { code: 'invalid_roles', status: 400 });
    assert.throws(() => normalizeRoles(['Admin']), { code: 'invalid_roles' });
    assert.throws(() => normalizeRoles([]), { code: 'invalid_roles' });
  });
});

for (const engine of testEngines()) {
  describe(`membership store (${engine})`, () => {
    it('grants, replaces and revokes roles', async (t) => {
      const { members, grant, ada } = await fixture(t, engine);
      assert.equal(await members.rolesOf('acme', ada.id), undefined);
      assert.deepEqual(await grant('acme', ada.id, ['viewer', 'developer']), [
        'developer',
        'viewer',
      ]);
      assert.deepEqual(await members.rolesOf('acme', ada.id), ['developer', 'viewer']);
      await grant('acme', ada.id, ['auditor']);
      assert.deepEqual(await members.rolesOf('acme', ada.id), ['auditor']);
      assert.equal(await members.revoke('acme', ada.id), true);
      assert.equal(await members.revoke('acme', ada.id), false);
      assert.equal(await members.rolesOf('acme', ada.id), undefined);
    });

    it('keeps tenants apart', async (t) => {
      const { members, grant, ada } = await fixture(t, engine);
      await grant('acme', ada.id, ['admin']);
      assert.equal(await members.rolesOf('globex', ada.id), undefined);
      assert.deepEqual(await members.listMembers('globex', { limit: 10 }), []);
      assert.equal(await members.hasMemberWithRole('globex', 'admin'), false);
      assert.equal(await members.revoke('globex', ada.id), false);
      assert.deepEqual(await members.rolesOf('acme', ada.id), ['admin']);
    });

    it('refuses unknown roles, tenants and users, changing nothing', async (t) => {
      const { members, grant, tenants, ada } = await fixture(t, engine);
      await grant('acme', ada.id, ['viewer']);
      await rejectsWith(grant('acme', ada.id, ['superuser']), 'invalid_roles', 400);
      await rejectsWith(grant('acme', ada.id, []), 'invalid_roles', 400);
      await rejectsWith(grant('nope', ada.id, ['viewer']), 'tenant_not_found', 404);
      await rejectsWith(grant('acme', 'missing', ['viewer']), 'user_not_found', 404);
      await tenants.softDelete('globex');
      await rejectsWith(grant('globex', ada.id, ['viewer']), 'tenant_not_found', 404);
      assert.deepEqual(await members.rolesOf('acme', ada.id), ['viewer']);
    });

    it('hides the roles of a deleted tenant', async (t) => {
      const { members, grant, tenants, ada } = await fixture(t, engine);
      await grant('globex', ada.id, ['admin']);
      await tenants.softDelete('globex');
      assert.equal(await members.rolesOf('globex', ada.id), undefined);
    });

    it('lists members by user id with a cursor', async (t) => {
      const { members, grant, ada, bob } = await fixture(t, engine);
      await grant('acme', ada.id, ['admin']);
      await grant('acme', bob.id, ['viewer']);
      const [first, second] = [ada, bob].sort((a, b) => (a.id < b.id ? -1 : 1));
      const all = await members.listMembers('acme', { limit: 10 });
      assert.deepEqual(
        all.map((member) => member.user_id),
        [first?.id, second?.id],
      );
      assert.deepEqual(
        all.find((member) => member.user_id === ada.id),
        { user_id: ada.id, roles: ['admin'], created_ms: T0 },
      );
      const page = await members.listMembers('acme', { after: first?.id, limit: 10 });
      assert.deepEqual(
        page.map((member) => member.user_id),
        [second?.id],
      );
      assert.equal((await members.listMembers('acme', { limit: 1 })).length, 1);
    });

    it('lists memberships with the state of each tenant', async (t) => {
      const {
        members: memberships,
        grant,
        tenants,
        ada: user,
        bob: other,
      } = await fixture(t, engine);
      await tenants.create({ id: 'initech', name: 'initech', plan: 'free' });
      await grant('globex', user.id, ['viewer', 'developer']);
      await grant('acme', user.id, ['admin']);
      await grant('initech', user.id, ['operator']);
      await grant('acme', other.id, ['viewer']);
      await tenants.setStatus('globex', 'suspended');
      await tenants.softDelete('initech');
      assert.deepEqual(await memberships.listOfUser(user.id), [
        {
          tenant_id: 'acme',
          roles: ['admin'],
          tenant_status: 'active',
          tenant_deleted: false,
          membership_status: 'active',
        },
        {
          tenant_id: 'globex',
          roles: ['developer', 'viewer'],
          tenant_status: 'suspended',
          tenant_deleted: false,
          membership_status: 'active',
        },
        {
          tenant_id: 'initech',
          roles: ['operator'],
          tenant_status: 'active',
          tenant_deleted: true,
          membership_status: 'active',
        },
      ]);
      assert.deepEqual(await memberships.listOfUser('missing'), []);
    });

    it('tells other domains where a user stands in a tenant', async (t) => {
      const { members, grant, tenants, ada, bob } = await fixture(t, engine);
      await grant('acme', ada.id, ['admin', 'viewer']);
      assert.deepEqual(await members.standing('acme', ada.id), {
        tenant_status: 'active',
        roles: ['admin', 'viewer'],
        membership_status: 'active',
        mfa_required: 'off',
      });
      assert.deepEqual(await members.standing('acme', bob.id), {
        tenant_status: 'active',
        roles: null,
        membership_status: null,
        mfa_required: 'off',
      });
      assert.deepEqual(await members.standing('acme', null), {
        tenant_status: 'active',
        roles: null,
        membership_status: null,
        mfa_required: 'off',
      });
      assert.equal(await members.standing('nope', ada.id), undefined);
      await tenants.setStatus('acme', 'suspended');
      assert.equal((await members.standing('acme', ada.id))?.tenant_status, 'suspended');
      await tenants.softDelete('globex');
      assert.equal((await members.standing('globex', ada.id))?.tenant_status, 'deleted');
      assert.deepEqual(await members.storedRoles('acme', ada.id), ['admin', 'viewer']);
      assert.equal(await members.storedRoles('acme', bob.id), undefined);
      assert.equal(await members.countWithRole('acme', 'viewer'), 1);
      assert.equal(await members.countWithRole('acme', 'view'), 0);
    });

    it('tells whether any member holds a role, matching whole role names', async (t) => {
      const { members, grant, ada } = await fixture(t, engine);
      assert.equal(await members.hasMemberWithRole('system', 'admin'), false);
      await grant('system', ada.id, ['viewer', 'developer']);
      assert.equal(await members.hasMemberWithRole('system', 'admin'), false);
      await grant('system', ada.id, ['viewer', 'admin']);
      assert.equal(await members.hasMemberWithRole('system', 'admin'), true);
    });
  });
}
