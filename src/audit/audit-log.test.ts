import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { openTestDatabase, testEngines } from '../../test/helpers/test-database.ts';
import type { AuditContext } from '../access/audit-context.ts';
import { openEventStore } from '../events/open-event-store.ts';
import { MIGRATIONS } from '../migrations/index.ts';
import type { Engine } from '../storage/database.ts';
import { migrateToLatest } from '../storage/migrate.ts';
import { AUDIT_ENTITY, auditPartition } from './audit-entry.ts';
import { createAuditLog } from './audit-log.ts';

const CONTEXT: AuditContext = {
  actor: 'u1',
  actor_type: 'user',
  ip: '203.0.113.9',
  user_agent: 'test',
  request_id: 'r1',
};

async function setUp(t: TestContext, engine: Engine) {
  const test = await openTestDatabase(engine);
  t.after(() => test.cleanup());
  await migrateToLatest(test.db, MIGRATIONS);
  const store = openEventStore(test.db);
  const trail = (tenant: string) =>
    store.readStream(auditPartition(tenant), AUDIT_ENTITY, {
      from_version: 0,
      direction: 'forward',
      limit: 100,
    });
  return { db: test.db, audit: createAuditLog(test.db), store, trail };
}

for (const engine of testEngines()) {
  describe(`audit log (${engine})`, () => {
    it('commits its events with the change, in each tenant’s $audit entity', async (t) => {
      const { db, audit, trail } = await setUp(t, engine);
      await db.transaction(async (trx) => {
        await trx
          .updateTable('tenants')
          .set({ name: 'Renamed' })
          .where('id', '=', 'system')
          .execute();
        await audit.inTransaction(trx, CONTEXT, [
          {
            tenant_id: 'system',
            action: 'tenant.updated',
            target: 'tenant:system',
            outcome: 'success',
            details: { name: 'Renamed' },
          },
          { tenant_id: 'acme', action: 'tenant.viewed', target: null, outcome: 'success' },
        ]);
      });
      const [event] = await trail('system');
      assert.equal(event?.event_type, 'tenant.updated');
      assert.deepEqual(event?.payload, {
        action: 'tenant.updated',
        actor: 'u1',
        actor_type: 'user',
        target: 'tenant:system',
        outcome: 'success',
        ip: '203.0.113.9',
        user_agent: 'test',
        request_id: 'r1',
        details: { name: 'Renamed' },
      });
      assert.equal((await trail('acme')).length, 1);
    });

    it('leaves no audit event when the change rolls back', async (t) => {
      const { db, audit, trail, store } = await setUp(t, engine);
      const head = await store.headPosition();
      await assert.rejects(
        db.transaction(async (trx) => {
          await audit.inTransaction(trx, CONTEXT, [
            { tenant_id: 'system', action: 'tenant.updated', target: null, outcome: 'success' },
          ]);
          throw new Error('the change failed');
        }),
        /the change failed/,
      );
      assert.deepEqual(await trail('system'), []);
      assert.equal(await store.headPosition(), head);
      await audit.record(CONTEXT, [
        { tenant_id: 'system', action: 'login.failed', target: null, outcome: 'failure' },
      ]);
      const events = await trail('system');
      assert.deepEqual(
        events.map((event) => [event.version, event.event_type]),
        [[0, 'login.failed']],
      );
    });

    it('never stores what looks like secret material in details', async (t) => {
      const { audit, trail } = await setUp(t, engine);
      await audit.record(CONTEXT, [
        {
          tenant_id: 'system',
          action: 'user.created',
          target: 'user:u2',
          outcome: 'success',
          details: {
            email: 'a@b.c',
            password: 'x',
            nested: [{ refresh_token: 'y', role: 'admin' }],
            secret_hash: 'z',
            key: 'k',
          },
        },
      ]);
      const [event] = await trail('system');
      assert.deepEqual((event?.payload as { details: unknown } | undefined)?.details, {
        email: 'a@b.c',
        nested: [{ role: 'admin' }],
      });
    });
  });
}
