import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { openTestDatabase, testEngines } from '../../../test/helpers/test-database.ts';
import { createUserService } from '../../identity/users/user-service.ts';
import { MIGRATIONS } from '../../migrations/index.ts';
import type { Engine } from '../../storage/database.ts';
import { migrateToLatest } from '../../storage/migrate.ts';
import { grantRoles } from '../memberships/grant-roles.ts';
import { createTenantRegistry } from '../tenants/tenant-registry.ts';
import { createTeamStore, type Team, type TeamWrite } from './team-store.ts';

const T0 = Date.UTC(2025, 0, 1);

async function fixture(t: TestContext, engine: Engine) {
  const test = await openTestDatabase(engine);
  t.after(() => test.cleanup());
  await migrateToLatest(test.db, MIGRATIONS);
  const users = createUserService(test.db);
  const tenants = createTenantRegistry(test.db);
  await tenants.create({ id: 'acme', name: 'Acme', plan: 'free' });
  await tenants.create({ id: 'globex', name: 'Globex', plan: 'free' });
  const ada = await users.createUser({ email: 'ada@example.com', name: 'Ada' });
  for (const tenant of ['acme', 'globex']) {
    await test.db.transaction((trx) => grantRoles(trx, tenant, ada.id, ['viewer']));
  }
  return { db: test.db, teams: createTeamStore(test.db, () => T0), ada };
}

/** The team a write made, which must have succeeded. */
async function made(write: Promise<TeamWrite | undefined>): Promise<Team> {
  const done = await write;
  assert.ok(done?.ok, 'the write succeeded');
  return done.team;
}

for (const engine of testEngines()) {
  describe(`team store (${engine})`, () => {
    it('keeps names unique per tenant ignoring case, and only per tenant', async (t) => {
      const { teams } = await fixture(t, engine);
      const ops = await made(teams.create('acme', { name: 'Ops', description: null }));
      assert.deepEqual(
        { ...(await teams.find('acme', ops.id)) },
        {
          id: ops.id,
          name: 'Ops',
          description: null,
          created_ms: T0,
          updated_ms: T0,
        },
      );
      const taken = { ok: false, reason: 'name_taken' };
      assert.deepEqual(await teams.create('acme', { name: 'OPS', description: null }), taken);
      await made(teams.create('globex', { name: 'ops', description: null }));
      const dev = await made(teams.create('acme', { name: 'Dev', description: null }));
      assert.deepEqual(await teams.update('acme', dev.id, { name: 'oPs' }), taken);
      // A team may change the case of its own name.
      assert.equal((await made(teams.update('acme', ops.id, { name: 'OPS' }))).name, 'OPS');
    });

    it('never finds, changes or deletes another tenant’s team', async (t) => {
      const { teams, ada } = await fixture(t, engine);
      const ops = await made(teams.create('acme', { name: 'Ops', description: 'd' }));
      await teams.addMember('acme', ops.id, ada.id);
      assert.equal(await teams.find('globex', ops.id), undefined);
      assert.equal(await teams.update('globex', ops.id, { name: 'X' }), undefined);
      assert.equal(await teams.delete('globex', ops.id), undefined);
      assert.equal(await teams.removeMember('globex', ops.id, ada.id), false);
      assert.deepEqual(await teams.memberIds('globex', ops.id), []);
      assert.deepEqual(await teams.list('globex', { limit: 10 }), []);
      assert.equal((await teams.find('acme', ops.id))?.name, 'Ops');
      assert.equal(await teams.memberCount('acme', ops.id), 1);
    });

    it('lists by name, case-insensitively, with a cursor and a literal filter', async (t) => {
      const { teams } = await fixture(t, engine);
      // Letters and digits only where order matters: collations disagree on punctuation.
      for (const name of ['beta', 'Alpha', 'gamma', '50%_off']) {
        await made(teams.create('acme', { name, description: null }));
      }
      const names = async (options: Parameters<typeof teams.list>[1]) =>
        (await teams.list('acme', options)).map((team) => team.name);
      assert.deepEqual(await names({ limit: 2 }), ['50%_off', 'Alpha']);
      assert.deepEqual(await names({ limit: 2, after: 'ALPHA' }), ['beta', 'gamma']);
      assert.deepEqual(await names({ limit: 10, after: 'gamma' }), []);
      assert.deepEqual(await names({ limit: 10, q: 'A' }), ['Alpha', 'beta', 'gamma']);
      // `%` and `_` are not wildcards in a filter.
      assert.deepEqual(await names({ limit: 10, q: '%' }), ['50%_off']);
      assert.deepEqual(await names({ limit: 10, q: '0__o' }), []);
    });

    it('adds idempotently, and the team’s deletion takes its memberships', async (t) => {
      const { db, teams, ada } = await fixture(t, engine);
      const ops = await made(teams.create('acme', { name: 'Ops', description: null }));
      assert.equal(await teams.addMember('acme', ops.id, ada.id), true);
      assert.equal(await teams.addMember('acme', ops.id, ada.id), false);
      assert.deepEqual(await teams.memberIds('acme', ops.id), [ada.id]);
      assert.equal((await teams.delete('acme', ops.id))?.id, ops.id);
      const left = await db.kysely.selectFrom('team_members').selectAll().execute();
      assert.deepEqual(left, []);
    });

    it('removes a user from every team of one tenant only', async (t) => {
      const { teams, ada } = await fixture(t, engine);
      const ops = await made(teams.create('acme', { name: 'Ops', description: null }));
      const dev = await made(teams.create('acme', { name: 'Dev', description: null }));
      const other = await made(teams.create('globex', { name: 'Ops', description: null }));
      for (const [tenant, team] of [
        ['acme', ops],
        ['acme', dev],
        ['globex', other],
      ] as const) {
        await teams.addMember(tenant, team.id, ada.id);
      }
      const left = await teams.removeUserFromTeams('acme', ada.id);
      assert.deepEqual(left.sort(), [ops.id, dev.id].sort());
      assert.equal(await teams.memberCount('acme', ops.id), 0);
      assert.equal(await teams.memberCount('globex', other.id), 1);
      assert.deepEqual(await teams.removeUserFromTeams('acme', ada.id), []);
    });

    it('finds tenant members only in their own tenant', async (t) => {
      const { teams, ada } = await fixture(t, engine);
      assert.equal(await teams.isTenantMember('acme', ada.id, { lock: true }), true);
      assert.equal(await teams.isTenantMember('system', ada.id), false);
    });
  });
}
