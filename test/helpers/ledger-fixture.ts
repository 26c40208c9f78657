import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { openEventStore } from '../../src/events/open-event-store.ts';
import type { Database } from '../../src/storage/open-database.ts';

/**
 * Appends `count` events to `tenant`'s log through the real store, `perBatch` per
 * transaction, spread over a few entities; returns their positions.
 */
export async function appendEvents(
  db: Database,
  tenant: string,
  count: number,
  perBatch = 500,
): Promise<number[]> {
  const store = openEventStore(db);
  const positions: number[] = [];
  for (let done = 0; done < count; done += perBatch) {
    const n = Math.min(perBatch, count - done);
    const events = Array.from({ length: n }, (_, i) => ({
      event_type: 'Counted',
      payload: {
        n: done + i,
        tag: randomUUID(),
        note: 'ledger test',
        nested: { list: [1, 2.5, 'x'] },
      },
      metadata: { source: 'ledger-fixture' },
    }));
    const [outcome] = await store.appendUnits([
      {
        tenant_id: tenant,
        entities: [{ entity_id: `counter-${done}`, expected_version: 'any', events }],
      },
    ]);
    if (!outcome?.ok) throw new Error(`append failed: ${JSON.stringify(outcome)}`);
    for (const event of outcome.events) positions.push(event.position);
  }
  return positions;
}

/** Positions of a partition's events, in order, read beneath every service. */
export async function positionsOf(db: Database, partition: string): Promise<number[]> {
  const { rows } = await sql<{ position: number }>`SELECT position FROM events
    WHERE tenant_id = ${partition} ORDER BY position`.execute(db.kysely);
  return rows.map((row) => Number(row.position));
}

/** The tampering an attacker with the database's credentials (not the signing key) can do. */
export const tamper = {
  async editPayload(db: Database, position: number): Promise<void> {
    await sql`UPDATE events SET payload = ${'{"forged":true}'} WHERE position = ${position}`.execute(
      db.kysely,
    );
  },
  async remove(db: Database, position: number): Promise<void> {
    await sql`DELETE FROM events WHERE position = ${position}`.execute(db.kysely);
  },
  /** Swaps the contents (payloads) of two events, each keeping its place and hash. */
  async swap(db: Database, a: number, b: number): Promise<void> {
    await sql`UPDATE events SET payload = CASE position
      WHEN ${a} THEN (SELECT payload FROM events WHERE position = ${b})
      ELSE (SELECT payload FROM events WHERE position = ${a}) END
      WHERE position IN (${a}, ${b})`.execute(db.kysely);
  },
  /** A new row at a free position, with a made-up hash (or none). */
  async insert(
    db: Database,
    tenant: string,
    position: number,
    hash: string | null = 'ab'.repeat(32),
  ): Promise<void> {
    await sql`INSERT INTO events
      (position, tenant_id, entity_id, version, event_type, time_ms, payload, metadata, client_id, hash)
      VALUES (${position}, ${tenant}, ${'intruder'}, ${0}, ${'Forged'}, ${Date.now()},
        ${'{"forged":true}'}, ${'{}'}, ${null}, ${hash})`.execute(db.kysely);
  },
};
