import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { openTestDatabase, testEngines } from '../../../test/helpers/test-database.ts';
import { TENANT_PERMISSIONS } from '../../access/permissions.ts';
import {
  type CredentialCache,
  createCredentialCache,
} from '../../identity/guard/credential-cache.ts';
import { MIGRATIONS } from '../../migrations/index.ts';
import type { Engine } from '../../storage/database.ts';
import { migrateToLatest } from '../../storage/migrate.ts';
import { createPolledChangeFeed } from '../../storage/polled-change-feed.ts';
import { createTenantRegistry } from '../tenants/tenant-registry.ts';
import { createCustomRoleLookup } from './custom-role-lookup.ts';
import { createRoleStore } from './role-store.ts';

/**
 * A real cache that counts the lookups asked of it, on a change feed of its own
 * (started, and told of nothing but this test's `changed` calls).
 */
async function countingCache(): Promise<CredentialCache & { readonly asked: string[] }> {
  const changes = createPolledChangeFeed(() => 0);
  await changes.start();
  const cache = createCredentialCache({ ttlMs: 60_000, changes });
  const asked: string[] = [];
  return Object.assign(Object.create(cache) as CredentialCache, {
    asked,
    through: ((key, load, ownerOf) => {
      asked.push(key);
      return cache.through(key, load, ownerOf);
    }) as CredentialCache['through'],
    changed: cache.changed.bind(cache),
  });
}

async function fixture(t: TestContext, engine: Engine) {
  const test = await openTestDatabase(engine);
  t.after(() => test.cleanup());
  await migrateToLatest(test.db, MIGRATIONS);
  const tenants = createTenantRegistry(test.db);
  await tenants.create({ id: 'acme', name: 'Acme', plan: 'free' });
  await tenants.create({ id: 'beta', name: 'Beta', plan: 'free' });
  const roles = createRoleStore(test.db.kysely);
  await roles.create('acme', { name: 'reader', permissions: ['events:read'] });
  const cache = await countingCache();
  return { roles, cache, lookup: createCustomRoleLookup(test.db, cache) };
}

const sorted = (set: ReadonlySet<string>) => [...set].sort();

for (const engine of testEngines()) {
  describe(`custom role lookup (${engine})`, () => {
    it('asks nothing for built-in roles, and caches a tenant’s custom roles', async (t) => {
      const { cache, lookup } = await fixture(t, engine);
      const admin = await lookup.permissionsOf(['viewer', 'admin'], 'acme');
      assert.equal(admin.size, TENANT_PERMISSIONS.length);
      assert.deepEqual(cache.asked, [], 'the hot path stays free of lookups');

      assert.deepEqual(sorted(await lookup.permissionsOf(['reader', 'guest'], 'acme')), [
        'events:read',
      ]);
      assert.deepEqual(sorted(await lookup.permissionsOf(['reader'], 'beta')), []);
      assert.deepEqual(cache.asked, ['custom_roles:acme', 'custom_roles:beta']);
      assert.equal(cache.size, 2, 'an empty set of roles is an answer worth keeping too');
    });

    it('reads the roles again once told the tenant changed, and only then', async (t) => {
      const { roles, cache, lookup } = await fixture(t, engine);
      await lookup.permissionsOf(['reader'], 'acme');
      await lookup.permissionsOf(['reader'], 'beta');
      await roles.update('acme', 'reader', { permissions: ['events:read', 'events:write'] });
      // Until told, the cache answers (this is what the after-commit call is for).
      assert.deepEqual(sorted(await lookup.permissionsOf(['reader'], 'acme')), ['events:read']);
      cache.changed({ kind: 'tenant', id: 'acme' });
      assert.equal(cache.size, 1, "beta's entry stays");
      assert.deepEqual(sorted(await lookup.permissionsOf(['reader'], 'acme')), [
        'events:read',
        'events:write',
      ]);
      await roles.remove('acme', 'reader');
      cache.changed({ kind: 'tenant', id: 'acme' });
      assert.deepEqual(sorted(await lookup.permissionsOf(['reader'], 'acme')), []);
    });
  });
}
