import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { appendChained } from '../../../test/helpers/ledger-chain-fixture.ts';
import { positionsOf, tamper } from '../../../test/helpers/ledger-fixture.ts';
import { eventIdsOf, type ProofJson } from '../../../test/helpers/ledger-proof-fixture.ts';
import { tenancyTestApp } from '../../../test/helpers/tenancy-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';
import type { AuditContext } from '../../access/audit-context.ts';
import { canonicalEvent } from '../../events/chain/canonical-event.ts';
import { chainHash, GENESIS_HASH } from '../../events/chain/chain-hash.ts';
import { positionOfGeneratedId } from '../../events/event-id.ts';
import type { StoredEvent } from '../../events/model.ts';

const CONTEXT: AuditContext = {
  actor: 'ann',
  actor_type: 'user',
  ip: null,
  user_agent: null,
  request_id: null,
};

function audited(tenantId: string) {
  return [
    { tenant_id: tenantId, action: 'user.created', target: 'user:u1', outcome: 'success' as const },
  ];
}

/** What the route's proof must satisfy, checked with the server's own chain code. */
function assertChains(proof: ProofJson) {
  let previous = proof.previous_hash;
  for (const link of proof.segment) {
    assert.equal(link.canonical, canonicalEvent(link.event as unknown as StoredEvent));
    assert.equal(chainHash(previous, link.event as unknown as StoredEvent), link.hash);
    previous = link.hash;
  }
  // Compared as canonical text: deepEqual recurses, and some proved events nest deep.
  assert.equal(proof.segment[0]?.canonical, canonicalEvent(proof.event as unknown as StoredEvent));
  assert.equal(proof.segment.at(-1)?.event.position, proof.checkpoint.position);
  assert.equal(previous, proof.checkpoint.hash);
  assert.equal(proof.key.kid, proof.checkpoint.kid);
}

for (const engine of testEngines()) {
  describe(`GET /ledger/proof (${engine})`, () => {
    it('writes nothing: until a checkpoint covers the event it says how to get one', async (t) => {
      const test = await tenancyTestApp(t, engine);
      const auditor = await test.keyFor('acme', 'auditor');
      const head = await appendChained(test.db, 'acme', 3);
      const [first] = await eventIdsOf(test.db, 'acme');
      const trail = await positionsOf(test.db, '$audit:acme');
      const pending = await test.send('GET', `/ledger/proof?event_id=${first}`, auditor);
      assert.equal(pending.status, 409, JSON.stringify(pending.body));
      assert.equal(pending.body.code, 'ledger_checkpoint_pending');
      assert.match(String(pending.body.detail), /POST \/api\/v1\/ledger\/checkpoints/);
      const signed = await sql`SELECT 1 FROM ledger_checkpoints`.execute(test.db.kysely);
      assert.equal(signed.rows.length, 0, 'no checkpoint signed by a GET');
      assert.deepEqual(await positionsOf(test.db, '$audit:acme'), trail, 'nothing audited');

      assert.equal((await test.send('POST', '/ledger/checkpoints', auditor)).status, 200);
      const reply = await test.send('GET', `/ledger/proof?event_id=${first}`, auditor);
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      const proof = reply.body as unknown as ProofJson;
      assert.equal(proof.log, 'events');
      assert.equal(proof.partition, 'acme');
      assert.equal(proof.event.id, first);
      assert.equal(proof.previous_hash, GENESIS_HASH);
      assert.equal(proof.segment.length, 3);
      assert.deepEqual(
        [proof.checkpoint.partition, proof.checkpoint.position, proof.checkpoint.hash],
        ['acme', head.position, head.hash],
      );
      assertChains(proof);
    });

    it('proves up to the first stored checkpoint at or after the event', async (t) => {
      const test = await tenancyTestApp(t, engine);
      const auditor = await test.keyFor('acme', 'auditor');
      await appendChained(test.db, 'acme', 2);
      const signed = await appendChained(test.db, 'acme', 2);
      assert.equal((await test.send('POST', '/ledger/checkpoints', auditor)).status, 200);
      await appendChained(test.db, 'acme', 3);
      const ids = await eventIdsOf(test.db, 'acme');
      const reply = await test.send('GET', `/ledger/proof?event_id=${ids[1]}`, auditor);
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      const proof = reply.body as unknown as ProofJson;
      assert.equal(proof.checkpoint.position, signed.position);
      assert.equal(proof.segment.length, 3);
      assert.equal(proof.previous_hash, await hashAt(test, ids[0]));
      assertChains(proof);
    });

    it('proves an entry of the tenant’s audit trail', async (t) => {
      const test = await tenancyTestApp(t, engine);
      const auditor = await test.keyFor('acme', 'auditor');
      await test.services.audit.record(CONTEXT, audited('acme'));
      await appendChained(test.db, 'acme', 1);
      const [entry] = await eventIdsOf(test.db, '$audit:acme');
      assert.ok(entry);
      assert.equal((await test.send('POST', '/ledger/checkpoints', auditor)).status, 200);
      const reply = await test.send('GET', `/ledger/proof?event_id=${entry}`, auditor);
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      const proof = reply.body as unknown as ProofJson;
      assert.equal(proof.log, 'audit');
      assert.equal(proof.partition, '$audit:acme');
      assert.equal(proof.checkpoint.partition, '$audit:acme');
      assertChains(proof);
    });

    it('answers 409 ledger_proof_too_long when no checkpoint is within the bound', async (t) => {
      const test = await tenancyTestApp(t, engine, { ledger: { proof_max_events: 2 } });
      const auditor = await test.keyFor('acme', 'auditor');
      await appendChained(test.db, 'acme', 4);
      const ids = await eventIdsOf(test.db, 'acme');
      const far = await test.send('GET', `/ledger/proof?event_id=${ids[0]}`, auditor);
      assert.equal(far.status, 409, JSON.stringify(far.body));
      assert.equal(far.body.code, 'ledger_proof_too_long');
      const rows = await sql`SELECT * FROM ledger_checkpoints WHERE partition = 'acme'`.execute(
        test.db.kysely,
      );
      assert.equal(rows.rows.length, 0, 'nothing signed');
      // Within the bound of the head: a checkpoint would cover it, none does yet.
      const near = await test.send('GET', `/ledger/proof?event_id=${ids[2]}`, auditor);
      assert.equal(near.body.code, 'ledger_checkpoint_pending', JSON.stringify(near.body));
      assert.equal((await test.send('POST', '/ledger/checkpoints', auditor)).status, 200);
      const proved = await test.send('GET', `/ledger/proof?event_id=${ids[2]}`, auditor);
      assert.equal(proved.status, 200, JSON.stringify(proved.body));
      // The stored checkpoint is too far from the first event: no later one can be nearer.
      const still = await test.send('GET', `/ledger/proof?event_id=${ids[0]}`, auditor);
      assert.equal(still.body.code, 'ledger_proof_too_long');
    });

    it('proves events nested deeper than JSON.stringify can go, stored before the door', async (t) => {
      const test = await tenancyTestApp(t, engine);
      const auditor = await test.keyFor('acme', 'auditor');
      await appendChained(test.db, 'acme', 3);
      const [, second] = await positionsOf(test.db, 'acme');
      // Written beneath the store (which could not serialize it), then chained as stored.
      const depth = 6000;
      const deep = `${'['.repeat(depth)}{"leaf":true}${']'.repeat(depth)}`;
      await sql`UPDATE events SET payload = ${deep} WHERE position = ${second}`.execute(
        test.db.kysely,
      );
      await tamper.rechainFrom(test.db, 'acme', Number(second));
      assert.equal((await test.send('POST', '/ledger/checkpoints', auditor)).status, 200);
      for (const id of await eventIdsOf(test.db, 'acme')) {
        const reply = await test.send('GET', `/ledger/proof?event_id=${id}`, auditor);
        assert.equal(reply.status, 200, String(reply.body.code));
        assertChains(reply.body as unknown as ProofJson);
      }
    });

    it('refuses without credentials, without audit:verify, and across tenants', async (t) => {
      const test = await tenancyTestApp(t, engine);
      await appendChained(test.db, 'acme', 1);
      await appendChained(test.db, 'globex', 1);
      const [acmeEvent] = await eventIdsOf(test.db, 'acme');
      await test.services.audit.record(CONTEXT, audited('globex'));
      const [globexEvent] = await eventIdsOf(test.db, 'globex');
      const [globexEntry] = await eventIdsOf(test.db, '$audit:globex');
      const url = (id: string | undefined) => `/ledger/proof?event_id=${id}`;
      const anonymous = await test.send('GET', url(acmeEvent), null);
      assert.equal(anonymous.status, 401);
      assert.equal(anonymous.body.code, 'unauthorized');
      for (const role of ['viewer', 'operator', 'developer']) {
        const denied = await test.send('GET', url(acmeEvent), await test.keyFor('acme', role));
        assert.equal(denied.status, 403, role);
        assert.equal(denied.body.code, 'permission_denied');
      }
      const auditor = await test.keyFor('acme', 'auditor');
      // Another tenant's event and audit entry are unknown here, like a made-up id.
      for (const id of [globexEvent, globexEntry, '0193a1f0-5b2c-7d4e-8f60-1a2b3c4d5e6f']) {
        const missing = await test.send('GET', url(id), auditor);
        assert.equal(missing.status, 404, id);
        assert.equal(missing.body.code, 'event_not_found');
      }
      for (const query of ['event_id=42', 'event_id=', '', `event_id=${acmeEvent}&tenant=globex`]) {
        const bad = await test.send('GET', `/ledger/proof?${query}`, auditor);
        assert.equal(bad.status, 400, query);
        assert.equal(bad.body.code, 'validation_failed', query);
      }
      const signed = await sql`SELECT partition FROM ledger_checkpoints`.execute(test.db.kysely);
      assert.ok(
        signed.rows.every(
          (row) => !String((row as { partition: string }).partition).includes('globex'),
        ),
      );
    });
  });
}

async function hashAt(
  test: Awaited<ReturnType<typeof tenancyTestApp>>,
  id: string | undefined,
): Promise<string> {
  const position = positionOfGeneratedId(String(id));
  const { rows } = await sql<{
    hash: string;
  }>`SELECT hash FROM events WHERE position = ${position}`.execute(test.db.kysely);
  return String(rows[0]?.hash);
}
