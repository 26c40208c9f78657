import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { openTestDatabase, testEngines } from '../../../../test/helpers/test-database.ts';
import { composeServices } from '../../../composition-root.ts';
import { defaultConfig } from '../../../config/load.ts';
import { MIGRATIONS } from '../../../migrations/index.ts';
import type { Engine } from '../../../storage/database.ts';
import { migrateToLatest } from '../../../storage/migrate.ts';
import { createTicketService } from './ticket-service.ts';
import { createTicketStore } from './ticket-store.ts';

const GRANT = {
  tenantId: 'acme',
  credential: { kind: 'session', sessionId: 's-1', userId: 'u-1' },
} as const;

/** A migrated database with tenant `acme`, and a ticket service (30 s, 3 per credential) on a clock the test moves. */
async function ticketsOn(engine: Engine, t: TestContext) {
  const { db, cleanup } = await openTestDatabase(engine);
  t.after(cleanup);
  await migrateToLatest(db, MIGRATIONS);
  await composeServices(db, defaultConfig()).tenancy.tenants.create({
    id: 'acme',
    name: 'Acme',
    plan: 'free',
  });
  const clock = { now: 1_000_000 };
  const tickets = createTicketService({
    store: createTicketStore(db),
    ttlSeconds: 30,
    maxPerCredential: 3,
    now: () => clock.now,
  });
  return { db, tickets, clock };
}

for (const engine of testEngines()) {
  describe(`subscription ticket store, on ${engine}`, () => {
    it('stores only a digest, lets exactly one of many concurrent uses win, and refuses an expired ticket', async (t) => {
      const { db, tickets, clock } = await ticketsOn(engine, t);

      const { ticket } = await tickets.issue(GRANT);
      const rows = await db.kysely.selectFrom('subscription_tickets').selectAll().execute();
      assert.equal(rows.length, 1);
      assert.ok(!JSON.stringify(rows).includes(ticket.slice(4)), 'the ticket itself is not stored');

      const uses = await Promise.allSettled(
        Array.from({ length: 10 }, () => tickets.redeem(ticket)),
      );
      const won = uses.filter((use) => use.status === 'fulfilled');
      assert.equal(won.length, 1);
      assert.deepEqual((won[0] as PromiseFulfilledResult<unknown>).value, GRANT);
      for (const use of uses.filter((u) => u.status === 'rejected')) {
        assert.equal((use.reason as { code: string }).code, 'subscription_ticket_invalid');
      }

      const late = await tickets.issue(GRANT);
      clock.now += 30_000;
      await assert.rejects(tickets.redeem(late.ticket), { code: 'subscription_ticket_invalid' });
      // Issuing deletes the expired ones: the table holds live tickets only.
      await tickets.issue(GRANT);
      await tickets.issue(GRANT);
      clock.now += 30_001;
      await tickets.issue(GRANT);
      assert.equal(
        (await db.kysely.selectFrom('subscription_tickets').selectAll().execute()).length,
        1,
      );
    });

    it('caps the live tickets one credential holds; used and expired ones free their places', async (t) => {
      const { db, tickets, clock } = await ticketsOn(engine, t);
      const held = [
        await tickets.issue(GRANT),
        await tickets.issue(GRANT),
        await tickets.issue(GRANT),
      ];
      await assert.rejects(
        tickets.issue(GRANT),
        (error: { code: string; status: number; headers: Record<string, string> }) => {
          assert.equal(error.code, 'subscription_ticket_limit_reached');
          assert.equal(error.status, 429);
          assert.equal(error.headers['retry-after'], '30');
          return true;
        },
      );
      // Another credential of the tenant has places of its own.
      await tickets.issue({ tenantId: 'acme', credential: { kind: 'api_key', digest: 'd-1' } });
      await tickets.redeem((held[0] as { ticket: string }).ticket);
      await tickets.issue(GRANT);
      await assert.rejects(tickets.issue(GRANT), { code: 'subscription_ticket_limit_reached' });
      clock.now += 30_000;
      await tickets.issue(GRANT);
      assert.equal(
        (await db.kysely.selectFrom('subscription_tickets').selectAll().execute()).length,
        1,
        'only the new ticket is live',
      );
    });
  });
}
