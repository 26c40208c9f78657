import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import { openTestDatabase, testEngines } from '../../../test/helpers/test-database.ts';
import { createAuditLog } from '../../audit/audit-log.ts';
import { MIGRATIONS } from '../../migrations/index.ts';
import { isTesseraError, type TesseraError } from '../../platform/errors.ts';
import type { AnyKysely, Engine } from '../../storage/database.ts';
import { migrateToLatest } from '../../storage/migrate.ts';
import { type Database, openDatabase } from '../../storage/open-database.ts';
import type { Tables } from '../../storage/tables.ts';
import { createTenantRegistry } from '../tenants/tenant-registry.ts';
import { createQuotaService } from './quota-service.ts';
import { PRESETS } from './quotas.ts';
import { checkWebhookQuota } from './webhook-quota.ts';

// What the webhooks domain will do, reduced to the rows the quota counts.
type Endpoints = Kysely<Pick<Tables, 'webhook_endpoints'>>;

const countOn = (trx: AnyKysely) => async (tenantId: string) => {
  const row = await (trx as Endpoints)
    .selectFrom('webhook_endpoints')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('tenant_id', '=', tenantId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
};

async function insertEndpoint(on: AnyKysely, tenantId: string, id: string, enabled = true) {
  await (on as Endpoints)
    .insertInto('webhook_endpoints')
    .values({
      id,
      tenant_id: tenantId,
      url: `https://hooks.example/${id}`,
      description: '',
      enabled: enabled ? 1 : 0,
      disabled_reason: enabled ? null : 'manual',
      filters: '{}',
      secret_box: 'sealed',
      cursor_position: 0,
      created_ms: 0,
      updated_ms: 0,
    })
    .execute();
}

/** Creates an endpoint as the webhooks domain will: check and insert in one transaction. */
const create = (db: Database, tenantId: string, id: string, limit: number) =>
  db.transaction(async (trx) => {
    await checkWebhookQuota(trx, countOn(trx), tenantId, limit);
    await yieldToLoop(); // let concurrent creators run between the count and the insert
    await insertEndpoint(trx, tenantId, id);
  });

async function refusal(promise: Promise<unknown>): Promise<TesseraError> {
  const error = await promise.then(
    () => assert.fail('expected a refusal'),
    (caught: unknown) => caught,
  );
  assert.ok(isTesseraError(error) && error.code === 'quota_exceeded', String(error));
  return error;
}

async function withTenants(t: TestContext, engine: Engine) {
  const test = await openTestDatabase(engine);
  t.after(test.cleanup);
  await migrateToLatest(test.db, MIGRATIONS);
  const registry = createTenantRegistry(test.db);
  await registry.create({ id: 'acme', name: 'Acme', plan: 'free' });
  await registry.create({ id: 'globex', name: 'Globex', plan: 'free' });
  return test;
}

const endpointsOf = async (db: Database, tenantId: string) => countOn(db.kysely)(tenantId);

for (const engine of testEngines()) {
  describe(`webhook endpoint quota (${engine})`, () => {
    it('gives a free tenant 3 endpoints, counts disabled ones, and refuses the next with 429', async (t) => {
      const { db } = await withTenants(t, engine);
      assert.equal(PRESETS.free.max_webhooks, 3);
      assert.equal(PRESETS.professional.max_webhooks, 50);
      assert.equal(PRESETS.unlimited.max_webhooks, 0);
      const quotas = createQuotaService({
        db,
        audit: createAuditLog(db),
        countLiveApiKeys: async () => 0,
        countWebhooks: endpointsOf.bind(null, db),
      });
      const limit = await quotas.limitOf('acme', 'max_webhooks');
      assert.equal(limit, 3);

      await create(db, 'acme', 'w1', limit);
      await create(db, 'acme', 'w2', limit);
      await insertEndpoint(db.kysely, 'acme', 'w3-disabled', false);
      // Another tenant's endpoints are its own.
      await insertEndpoint(db.kysely, 'globex', 'g1');

      const error = await refusal(create(db, 'acme', 'w4', limit));
      assert.equal(error.status, 429);
      assert.deepEqual(error.extensions, {
        quota: 'max_webhooks',
        limit: 3,
        used: 3,
        reset_at: null,
      });
      // No window: waiting frees nothing, so no Retry-After.
      assert.equal(error.headers?.['retry-after'], undefined);
      assert.match(error.message, /used 3 of its 3 webhook endpoints \(max_webhooks\)/);
      assert.equal(await endpointsOf(db, 'acme'), 3, 'the refused create wrote nothing');

      const stats = await quotas.stats('acme');
      assert.deepEqual(stats.usage.webhooks, {
        quota: 'max_webhooks',
        used: 3,
        limit: 3,
        reset_at_ms: null,
      });
      await create(db, 'globex', 'g2', await quotas.limitOf('globex', 'max_webhooks'));
    });

    it('neither locks nor counts when the quota is unlimited', async (t) => {
      const { db } = await withTenants(t, engine);
      let counted = 0;
      await db.transaction(async (trx) => {
        await checkWebhookQuota(
          trx,
          async () => {
            counted++;
            return 1_000;
          },
          'acme',
          0,
        );
      });
      assert.equal(counted, 0);
    });

    it('never lets concurrent creators on two nodes overshoot the limit', async (t) => {
      const { db, storage } = await withTenants(t, engine);
      const other = await openDatabase(storage);
      t.after(() => other.close());
      const nodes = [db, other];
      const results = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) => create(nodes[i % 2] as Database, 'acme', `w${i}`, 4)),
      );
      assert.equal(results.filter((result) => result.status === 'fulfilled').length, 4);
      for (const result of results) {
        if (result.status === 'rejected') await refusal(Promise.reject(result.reason));
      }
      assert.equal(await endpointsOf(db, 'acme'), 4);
    });
  });
}
