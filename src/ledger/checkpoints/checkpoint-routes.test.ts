import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compactVerify, importJWK } from 'jose';
import { sql } from 'kysely';
import { appendChained, headOf } from '../../../test/helpers/ledger-chain-fixture.ts';
import { tenancyTestApp } from '../../../test/helpers/tenancy-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';
import type { AuditContext } from '../../access/audit-context.ts';

const CONTEXT: AuditContext = {
  actor: 'ann',
  actor_type: 'user',
  ip: null,
  user_agent: null,
  request_id: null,
};

interface CheckpointJson {
  log?: string;
  partition: string;
  position: number;
  hash: string;
  chained: number;
  timestamp: string;
  kid: string;
  jws: string;
  created?: boolean;
}

for (const engine of testEngines()) {
  describe(`ledger checkpoint routes (${engine})`, () => {
    it('signs the caller tenant’s log and trail on demand, once per head, audited', async (t) => {
      const test = await tenancyTestApp(t, engine);
      const auditor = await test.keyFor('acme', 'auditor');
      const events = await appendChained(test.db, 'acme', 3);
      await appendChained(test.db, 'globex', 2);
      await test.services.audit.record(CONTEXT, [
        { tenant_id: 'acme', action: 'user.created', target: 'user:u1', outcome: 'success' },
      ]);
      const made = await test.send('POST', '/ledger/checkpoints', auditor);
      assert.equal(made.status, 200, JSON.stringify(made.body));
      // The trail's checkpoint covers the audit entry recording it: both are written in
      // one transaction, the entry first.
      const trail = await headOf(test.db, '$audit:acme');
      const checkpoints = made.body.checkpoints as CheckpointJson[];
      assert.deepEqual(
        checkpoints.map((c) => [c.log, c.partition, c.position, c.hash, c.created]),
        [
          ['events', 'acme', events.position, events.hash, true],
          ['audit', '$audit:acme', trail.position, trail.hash, true],
        ],
      );
      const audited = await test.send('GET', '/audit?action=ledger.checkpoint_signed', auditor);
      const entries = audited.body.events as {
        position: number;
        payload: Record<string, unknown>;
      }[];
      assert.equal(entries.length, 1);
      assert.equal(entries[0]?.position, trail.position);
      assert.deepEqual(entries[0]?.payload.details, { logs: ['events', 'audit'] });
      assert.equal(entries[0]?.payload.target, 'ledger:acme');
      // Nothing moved since: a second call has nothing new to sign and returns the
      // latest checkpoints.
      const again = await test.send('POST', '/ledger/checkpoints', auditor);
      assert.deepEqual(
        (again.body.checkpoints as CheckpointJson[]).map((c) => [c.log, c.position, c.created]),
        [
          ['events', events.position, false],
          ['audit', trail.position, false],
        ],
      );
      // Another tenant's partitions were never signed.
      const partitions = await sql<{
        partition: string;
      }>`SELECT DISTINCT partition FROM ledger_checkpoints ORDER BY partition`.execute(
        test.db.kysely,
      );
      assert.deepEqual(
        partitions.rows.map((row) => row.partition),
        ['$audit:acme', 'acme'],
      );
    });

    it('lists one log’s checkpoints, paged, never another tenant’s', async (t) => {
      const test = await tenancyTestApp(t, engine);
      const auditor = await test.keyFor('acme', 'auditor');
      const positions: number[] = [];
      for (let round = 0; round < 3; round++) {
        positions.push((await appendChained(test.db, 'acme', 2)).position);
        assert.equal((await test.send('POST', '/ledger/checkpoints', auditor)).status, 200);
      }
      const page = await test.send('GET', '/ledger/checkpoints?limit=2', auditor);
      assert.equal(page.status, 200, JSON.stringify(page.body));
      const firstPage = page.body.checkpoints as CheckpointJson[];
      assert.deepEqual(
        firstPage.map((c) => c.position),
        positions.slice(0, 2),
      );
      assert.equal(page.body.next_cursor, positions[1]);
      const rest = await test.send(
        'GET',
        `/ledger/checkpoints?partition=events&limit=2&after=${page.body.next_cursor}`,
        auditor,
      );
      assert.deepEqual(
        (rest.body.checkpoints as CheckpointJson[]).map((c) => c.position),
        [positions[2]],
      );
      assert.equal(rest.body.next_cursor, null);
      // Another tenant's auditor sees none of them, in either log.
      const globex = await test.keyFor('globex', 'auditor');
      for (const log of ['events', 'audit']) {
        const other = await test.send('GET', `/ledger/checkpoints?partition=${log}`, globex);
        assert.equal(other.status, 200);
        assert.deepEqual(other.body.checkpoints, []);
      }
    });

    it('refuses without credentials (401) and without audit:verify (403)', async (t) => {
      const test = await tenancyTestApp(t, engine);
      await appendChained(test.db, 'acme', 1);
      const viewer = await test.keyFor('acme', 'viewer');
      const operator = await test.keyFor('acme', 'operator');
      for (const [method, url] of [
        ['POST', '/ledger/checkpoints'],
        ['GET', '/ledger/checkpoints'],
      ] as const) {
        const anonymous = await test.send(method, url, null);
        assert.equal(anonymous.status, 401);
        assert.equal(anonymous.body.code, 'unauthorized');
        for (const who of [viewer, operator]) {
          const denied = await test.send(method, url, who);
          assert.equal(denied.status, 403, `${method} ${url}`);
          assert.equal(denied.body.code, 'permission_denied');
        }
      }
      const rows = await sql`SELECT * FROM ledger_checkpoints`.execute(test.db.kysely);
      assert.equal(rows.rows.length, 0, 'nothing signed');
    });

    it('answers 400 validation_failed to bad query parameters', async (t) => {
      const test = await tenancyTestApp(t, engine);
      const auditor = await test.keyFor('acme', 'auditor');
      for (const query of [
        'partition=other',
        'partition=%24audit%3Aacme',
        'limit=0',
        'limit=1001',
        'limit=ten',
        'after=-1',
        'after=1.5',
        'tenant=globex',
      ]) {
        const reply = await test.send('GET', `/ledger/checkpoints?${query}`, auditor);
        assert.equal(reply.status, 400, query);
        assert.equal(reply.body.code, 'validation_failed', query);
      }
    });

    it('publishes every key that signed a checkpoint, retired ones included, without credentials', async (t) => {
      const test = await tenancyTestApp(t, engine);
      const auditor = await test.keyFor('acme', 'auditor');
      await appendChained(test.db, 'acme', 2);
      const made = await test.send('POST', '/ledger/checkpoints', auditor);
      const [checkpoint] = made.body.checkpoints as CheckpointJson[];
      assert.ok(checkpoint);
      await test.services.identity.keys.rotate();
      const reply = await test.app.inject({ method: 'GET', url: '/api/v1/ledger/keys' });
      assert.equal(reply.statusCode, 200);
      assert.equal(reply.headers['cache-control'], 'public, max-age=300');
      const { keys } = reply.json() as { keys: Record<string, string>[] };
      assert.equal(keys.length, 2);
      for (const jwk of keys) {
        assert.deepEqual(Object.keys(jwk).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x']);
      }
      // An auditor's check: the key its kid names, from this set, verifies the JWS.
      const jwk = keys.find((key) => key.kid === checkpoint.kid);
      assert.ok(jwk);
      const { payload } = await compactVerify(checkpoint.jws, await importJWK(jwk, 'EdDSA'));
      assert.deepEqual(JSON.parse(new TextDecoder().decode(payload)), {
        tenant_id: 'acme',
        position: checkpoint.position,
        hash: checkpoint.hash,
        timestamp: checkpoint.timestamp,
      });
    });
  });
}
