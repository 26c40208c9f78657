import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import {
  createSessionStore,
  type RefreshOutcome,
  type RefreshRotation,
  STRICT_ROTATION,
} from '../../src/identity/sessions/session-store.ts';
import { MIGRATIONS } from '../../src/migrations/index.ts';
import type { Engine } from '../../src/storage/database.ts';
import { migrateToLatest } from '../../src/storage/migrate.ts';
import { createMembershipStore } from '../../src/tenancy/memberships/membership-store.ts';
import { openTestDatabase } from './test-database.ts';

/** A migrated database with tenant `acme` and users `u1`, `u2`; the store's clock moves by hand. */
export async function setup(
  t: TestContext,
  engine: Engine,
  ttlSeconds = 3600,
  rotation: RefreshRotation = STRICT_ROTATION,
) {
  const { db, cleanup } = await openTestDatabase(engine);
  t.after(cleanup);
  await migrateToLatest(db, MIGRATIONS);
  const at = Date.now();
  await db.kysely
    .insertInto('tenants')
    .values({
      id: 'acme',
      name: 'Acme',
      plan: 'free',
      status: 'active',
      created_ms: at,
      updated_ms: at,
    })
    .execute();
  for (const id of ['u1', 'u2']) {
    await db.kysely
      .insertInto('users')
      .values({ id, email: `${id}@example.com`, status: 'active', created_ms: at, updated_ms: at })
      .execute();
  }
  let clock = at;
  const store = createSessionStore(
    db,
    (on, tenantId, userId) => createMembershipStore({ kysely: on }).standing(tenantId, userId),
    ttlSeconds,
    () => clock,
    undefined,
    rotation,
  );
  return { db, store, advance: (ms: number) => (clock += ms) };
}

type Rotated = Extract<RefreshOutcome, { kind: 'rotated' }>;

/** The outcome of a rotation that must have issued a successor. */
export async function rotated(outcome: Promise<RefreshOutcome>): Promise<Rotated> {
  const result = await outcome;
  assert.equal(result.kind, 'rotated');
  return result as Rotated;
}

/** A rotation refused, for this reason. */
export async function refused(
  outcome: Promise<RefreshOutcome>,
  kind: Exclude<RefreshOutcome['kind'], 'rotated'>,
): Promise<void> {
  assert.equal((await outcome).kind, kind);
}
