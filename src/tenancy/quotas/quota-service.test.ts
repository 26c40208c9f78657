import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { openTestDatabase, testEngines } from '../../../test/helpers/test-database.ts';
import { until } from '../../../test/helpers/until.ts';
import { CLI_AUDIT_CONTEXT } from '../../access/audit-context.ts';
import { createAuditLog } from '../../audit/audit-log.ts';
import { MIGRATIONS } from '../../migrations/index.ts';
import { isTesseraError } from '../../platform/errors.ts';
import type { Engine } from '../../storage/database.ts';
import { migrateToLatest } from '../../storage/migrate.ts';
import { type Database, openDatabase } from '../../storage/open-database.ts';
import { createTenantRegistry } from '../tenants/tenant-registry.ts';
import { createQuotaService, type QuotaService } from './quota-service.ts';
import { PRESETS } from './quotas.ts';

const HOUR = 3_600_000;
const TEN_O_CLOCK = Date.UTC(2026, 0, 15, 10);

function serviceOn(db: Database, now: () => number = Date.now, cacheTtlMs = 60_000): QuotaService {
  return createQuotaService({
    db,
    audit: createAuditLog(db),
    countLiveApiKeys: async () => 0,
    countWebhooks: async () => 0,
    now,
    cacheTtlMs,
  });
}

async function withTenant(t: TestContext, engine: Engine) {
  const test = await openTestDatabase(engine);
  t.after(test.cleanup);
  await migrateToLatest(test.db, MIGRATIONS);
  await createTenantRegistry(test.db).create({ id: 'acme', name: 'Acme', plan: 'free' });
  return test;
}

async function refused(promise: Promise<unknown>) {
  const error = await promise.then(
    () => assert.fail('expected a refusal'),
    (caught: unknown) => caught,
  );
  assert.ok(isTesseraError(error) && error.code === 'quota_exceeded', String(error));
  return error;
}

const rows = async (db: Database) =>
  (
    await db.kysely
      .selectFrom('quota_usage')
      .select(['window_start_ms', 'used'])
      .where('quota', '=', 'max_queries_per_hour')
      .execute()
  ).map((row) => [Number(row.window_start_ms), Number(row.used)]);

for (const engine of testEngines()) {
  describe(`quota service (${engine})`, () => {
    it('counts queries per UTC hour, starts again the next hour, and drops old hours', async (t) => {
      const { db } = await withTenant(t, engine);
      let now = TEN_O_CLOCK + 59 * 60_000;
      const quotas = serviceOn(db, () => now);
      await quotas.set(CLI_AUDIT_CONTEXT, 'acme', {
        ...PRESETS.unlimited,
        max_queries_per_hour: 2,
      });
      await quotas.countQuery('acme');
      await quotas.countQuery('acme');
      const error = await refused(quotas.countQuery('acme'));
      assert.equal(error.extensions?.reset_at, new Date(TEN_O_CLOCK + HOUR).toISOString());
      assert.equal(error.headers?.['retry-after'], '60');
      // Refused again from memory: the counter stays at the limit.
      await refused(quotas.countQuery('acme'));
      assert.deepEqual(await rows(db), [[TEN_O_CLOCK, 2]]);
      now = TEN_O_CLOCK + HOUR;
      await quotas.countQuery('acme');
      assert.deepEqual(await rows(db), [[TEN_O_CLOCK + HOUR, 1]]);
    });

    it('never overshoots the hourly count under concurrent queries from two nodes', async (t) => {
      const { db, storage } = await withTenant(t, engine);
      const other = await openDatabase(storage);
      t.after(() => other.close());
      const nodes = [serviceOn(db), serviceOn(other)];
      await nodes[0]?.set(CLI_AUDIT_CONTEXT, 'acme', {
        ...PRESETS.unlimited,
        max_queries_per_hour: 30,
      });
      const results = await Promise.allSettled(
        Array.from({ length: 80 }, (_, i) => nodes[i % 2]?.countQuery('acme')),
      );
      assert.equal(results.filter((result) => result.status === 'fulfilled').length, 30);
    });

    it('hears of a change another node or process makes', async (t) => {
      const { db, storage } = await withTenant(t, engine);
      const here = serviceOn(db);
      // As the server does. Its connection is cut when the database is dropped after
      // the test: not a failure, so no onError.
      const hearing = await db.changes.start();
      t.after(() => hearing.stop());
      assert.equal((await here.appendLimits('acme')).max_events_per_day, 10_000);
      // Another node (PostgreSQL) or the CLI (SQLite: another connection to the file).
      const other = await openDatabase(storage);
      t.after(() => other.close());
      await serviceOn(other).set(CLI_AUDIT_CONTEXT, 'acme', { preset: 'professional' });
      await until(
        async () => (await here.appendLimits('acme')).max_events_per_day === 1_000_000,
        'the other writer’s quotas are seen',
      );
      await createTenantRegistry(other).update('acme', { plan: 'unlimited' });
      await serviceOn(other).followPlan(CLI_AUDIT_CONTEXT, 'acme');
      await until(
        async () => (await here.appendLimits('acme')).max_events_per_day === 0,
        'the plan’s preset is seen again',
      );
    });
  });
}
