import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { openTestDatabase, testEngines } from '../../../test/helpers/test-database.ts';
import { MIGRATIONS } from '../../migrations/index.ts';
import type { Engine } from '../../storage/database.ts';
import { migrateToLatest } from '../../storage/migrate.ts';
import { createTenantRegistry, type TenantRegistry } from './tenant-registry.ts';
import { createTenantStore } from './tenant-store.ts';

const T0 = Date.UTC(2025, 0, 1);

async function store(t: TestContext, engine: Engine, now?: () => number): Promise<TenantRegistry> {
  const test = await openTestDatabase(engine);
  t.after(() => test.cleanup());
  await migrateToLatest(test.db, MIGRATIONS);
  return createTenantRegistry(test.db, now);
}

async function migrated(t: TestContext, engine: Engine) {
  const test = await openTestDatabase(engine);
  t.after(() => test.cleanup());
  await migrateToLatest(test.db, MIGRATIONS);
  return test.db;
}

function rejectsWith(promise: Promise<unknown>, code: string, status: number) {
  return assert.rejects(promise, (error: { code?: string; status?: number }) => {
    assert.equal(error.code, code);
    assert.equal(error.status, status);
    return true;
  });
}

for (const engine of testEngines()) {
  describe(`tenant registry and store (${engine})`, () => {
    it('creates, gets and updates a tenant', async (t) => {
      let time = T0;
      const tenants = await store(t, engine, () => time);
      const created = await tenants.create({ id: 'acme', name: ' Acme Corp ', plan: 'free' });
      assert.deepEqual(created, {
        id: 'acme',
        name: 'Acme Corp',
        plan: 'free',
        status: 'active',
        created_ms: T0,
        updated_ms: T0,
        deleted_ms: null,
      });
      assert.deepEqual(await tenants.get('acme'), created);
      time = T0 + 10;
      const renamed = await tenants.update('acme', { name: 'ACME' });
      assert.deepEqual(renamed, { ...created, name: 'ACME', updated_ms: T0 + 10 });
      const upgraded = await tenants.update('acme', { plan: 'pro' });
      assert.equal(upgraded.plan, 'pro');
      assert.equal(upgraded.name, 'ACME');
      assert.equal(await tenants.get('nope'), undefined);
    });

    it('has the system tenant from the migration', async (t) => {
      const tenants = await store(t, engine);
      const system = await tenants.get('system');
      assert.equal(system?.plan, 'unlimited');
      assert.equal(system?.status, 'active');
    });

    it('refuses a duplicate id, also one of a deleted tenant', async (t) => {
      const tenants = await store(t, engine);
      await tenants.create({ id: 'acme', name: 'Acme', plan: 'free' });
      await rejectsWith(
        tenants.create({ id: 'acme', name: 'Other', plan: 'free' }),
        'tenant_exists',
        409,
      );
      await rejectsWith(
        tenants.create({ id: 'system', name: 'S', plan: 'free' }),
        'tenant_exists',
        409,
      );
      await tenants.softDelete('acme');
      await rejectsWith(
        tenants.create({ id: 'acme', name: 'Again', plan: 'free' }),
        'tenant_exists',
        409,
      );
    });

    it('validates id, name and plan', async (t) => {
      const tenants = await store(t, engine);
      const bad = [
        { id: 'Acme', name: 'A', plan: 'free' },
        { id: '-acme', name: 'A', plan: 'free' },
        { id: 'a'.repeat(64), name: 'A', plan: 'free' },
        { id: "acme'; DROP TABLE tenants; --", name: 'A', plan: 'free' },
        { id: 'acme', name: '   ', plan: 'free' },
        { id: 'acme', name: 'a\u0000b', plan: 'free' },
        { id: 'acme', name: 'x'.repeat(201), plan: 'free' },
        { id: 'acme', name: 'A', plan: '' },
        { id: 'acme', name: 'A', plan: 'Pro Plan' },
      ];
      for (const tenant of bad) await rejectsWith(tenants.create(tenant), 'invalid_tenant', 400);
      assert.ok(await tenants.create({ id: 'a'.repeat(63), name: 'x'.repeat(200), plan: 'p' }));
      await tenants.create({ id: 'acme', name: 'A', plan: 'free' });
      await rejectsWith(tenants.update('acme', { name: '' }), 'invalid_tenant', 400);
      await rejectsWith(tenants.update('acme', { plan: 'PRO' }), 'invalid_tenant', 400);
      assert.equal((await tenants.get('acme'))?.name, 'A');
    });

    it('suspends, reactivates and soft-deletes', async (t) => {
      let time = T0;
      const tenants = await store(t, engine, () => time);
      await tenants.create({ id: 'acme', name: 'Acme', plan: 'free' });
      assert.equal((await tenants.setStatus('acme', 'suspended')).status, 'suspended');
      assert.equal((await tenants.setStatus('acme', 'active')).status, 'active');
      time = T0 + 99;
      await tenants.softDelete('acme');
      assert.equal(await tenants.get('acme'), undefined);
      assert.equal((await tenants.get('acme', { include_deleted: true }))?.deleted_ms, T0 + 99);
      await rejectsWith(tenants.softDelete('acme'), 'tenant_not_found', 404);
      await rejectsWith(tenants.update('acme', { name: 'Zombie' }), 'tenant_not_found', 404);
      await rejectsWith(tenants.setStatus('acme', 'active'), 'tenant_not_found', 404);
      await rejectsWith(tenants.setStatus('nope', 'active'), 'tenant_not_found', 404);
      await rejectsWith(tenants.softDelete('nope'), 'tenant_not_found', 404);
    });

    it('never suspends or deletes the system tenant', async (t) => {
      const tenants = await store(t, engine);
      await rejectsWith(tenants.setStatus('system', 'suspended'), 'tenant_protected', 409);
      await rejectsWith(tenants.softDelete('system'), 'tenant_protected', 409);
      const system = await tenants.get('system');
      assert.equal(system?.status, 'active');
      assert.equal(system?.deleted_ms, null);
      assert.equal((await tenants.setStatus('system', 'active')).status, 'active');
    });

    it('lists by id with a cursor, deleted ones only when asked', async (t) => {
      const tenants = await store(t, engine);
      // Ids whose order differs between byte order and a natural-language collation.
      for (const id of ['b', 'a-1', 'a1', 'a', 'z9', '0x']) {
        await tenants.create({ id, name: id, plan: 'free' });
      }
      await tenants.softDelete('a1');
      const ids = async (options: Parameters<TenantRegistry['list']>[0]) =>
        (await tenants.list(options)).map((tenant) => tenant.id);
      assert.deepEqual(await ids({ limit: 3 }), ['0x', 'a', 'a-1']);
      assert.deepEqual(await ids({ after: 'a-1', limit: 3 }), ['b', 'system', 'z9']);
      assert.deepEqual(await ids({ after: 'z9', limit: 3 }), []);
      assert.deepEqual(await ids({ after: 'a-1', limit: 2, include_deleted: true }), ['a1', 'b']);
    });

    it('stores report outcomes, the registry answers with API errors', async (t) => {
      const tenants = createTenantStore(await migrated(t, engine));
      assert.equal((await tenants.insert({ id: 'acme', name: 'Acme', plan: 'free' })).ok, true);
      assert.deepEqual(await tenants.insert({ id: 'acme', name: 'Other', plan: 'free' }), {
        ok: false,
        reason: 'tenant_exists',
      });
      assert.equal(await tenants.change('nope', { name: 'X' }), undefined);
      assert.equal((await tenants.change('acme', { name: 'Acme 2' }))?.name, 'Acme 2');
    });
  });
}
