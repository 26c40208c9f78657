import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { appendEvents, positionsOf, tamper } from '../../test/helpers/ledger-fixture.ts';
import { type Credential, tenancyTestApp } from '../../test/helpers/tenancy-fixture.ts';
import { testEngines } from '../../test/helpers/test-database.ts';
import type { Engine } from '../storage/database.ts';

/**
 * acme's log holds six events; globex's events sit between them, so acme's positions
 * are not consecutive (positions are global). Admin actions fill acme's audit trail.
 */
async function ledgerApp(t: TestContext, engine: Engine, verifyBatch?: number) {
  const test = await tenancyTestApp(
    t,
    engine,
    verifyBatch === undefined ? {} : { ledger: { verify_batch: verifyBatch } },
  );
  const auditor = await test.keyFor('acme', 'auditor');
  await test.keyFor('globex', 'auditor');
  // An audited admin action: acme's trail gets its first event.
  const created = await test.send('POST', '/auth/api-keys', await test.keyFor('acme'), {
    name: 'first',
    role: 'viewer',
  });
  if (created.status !== 201) throw new Error(JSON.stringify(created.body));
  for (let i = 0; i < 6; i++) {
    await appendEvents(test.db, 'acme', 1);
    await appendEvents(test.db, 'globex', 1);
  }
  const acme = await positionsOf(test.db, 'acme');
  const verify = async (query = '', as: Credential = auditor) =>
    test.send('GET', `/audit/verify${query}`, as);
  return { ...test, auditor, acme, verify };
}

for (const engine of testEngines()) {
  describe(`GET /audit/verify (${engine})`, () => {
    it('passes after real appends and audited admin actions, both partitions checked', async (t) => {
      const test = await ledgerApp(t, engine);
      // An audited change through the API, chained by its append.
      const key = await test.send('POST', '/auth/api-keys', await test.keyFor('acme'), {
        name: 'ci',
        role: 'viewer',
      });
      assert.equal(key.status, 201, JSON.stringify(key.body));
      const appended = await test.send('POST', '/entities/e/events', await test.keyFor('acme'), {
        expected_version: 'any',
        events: [{ event_type: 'Made', payload: { deep: { a: [1, { b: null }] } } }],
      });
      assert.equal(appended.status, 201, JSON.stringify(appended.body));
      const audit = await positionsOf(test.db, '$audit:acme');
      assert.ok(audit.length >= 2, 'the admin actions left audit events');
      const reply = await test.verify();
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.deepEqual(reply.body, {
        ok: true,
        checked: test.acme.length + 1 + audit.length,
        first_broken: null,
        next_cursor: null,
      });
    });

    const cases: {
      name: string;
      act: (test: Awaited<ReturnType<typeof ledgerApp>>) => Promise<unknown>;
      expect: (acme: number[]) => { position: number; reason: string };
    }[] = [
      {
        name: 'an edited payload, at that event',
        act: (test) => tamper.editPayload(test.db, test.acme[2] as number),
        expect: (acme) => ({ position: acme[2] as number, reason: 'hash_mismatch' }),
      },
      {
        name: 'a deleted event, at the next one',
        act: (test) => tamper.remove(test.db, test.acme[2] as number),
        expect: (acme) => ({ position: acme[3] as number, reason: 'hash_mismatch' }),
      },
      {
        name: 'the last event deleted, at the head',
        act: (test) => tamper.remove(test.db, test.acme[5] as number),
        expect: (acme) => ({ position: acme[5] as number, reason: 'head_mismatch' }),
      },
      {
        name: 'two events swapped, at the first of them',
        act: (test) => tamper.swap(test.db, test.acme[1] as number, test.acme[3] as number),
        expect: (acme) => ({ position: acme[1] as number, reason: 'hash_mismatch' }),
      },
      {
        name: 'an inserted event with a made-up hash, at the inserted one',
        act: async (test) => {
          // A free position between two of acme's: globex's event there is removed first.
          const free = (test.acme[2] as number) + 1;
          await tamper.remove(test.db, free);
          await tamper.insert(test.db, 'acme', free);
        },
        expect: (acme) => ({ position: (acme[2] as number) + 1, reason: 'hash_mismatch' }),
      },
      {
        name: 'an inserted event without a hash, at the inserted one',
        act: async (test) => {
          const free = (test.acme[2] as number) + 1;
          await tamper.remove(test.db, free);
          await tamper.insert(test.db, 'acme', free, null);
        },
        expect: (acme) => ({ position: (acme[2] as number) + 1, reason: 'unchained' }),
      },
    ];
    for (const { name, act, expect } of cases) {
      it(`reports ${name}`, async (t) => {
        const test = await ledgerApp(t, engine);
        assert.equal((await test.verify()).body.ok, true);
        await act(test);
        const reply = await test.verify();
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        assert.equal(reply.body.ok, false);
        assert.deepEqual(reply.body.first_broken, { partition: 'events', ...expect(test.acme) });
        assert.equal(reply.body.next_cursor, null);
      });
    }

    it('reports a tampered audit trail as the audit partition', async (t) => {
      const test = await ledgerApp(t, engine);
      const audit = await positionsOf(test.db, '$audit:acme');
      await tamper.editPayload(test.db, audit[0] as number);
      const reply = await test.verify();
      assert.deepEqual(reply.body.first_broken, {
        partition: 'audit',
        position: audit[0],
        reason: 'hash_mismatch',
      });
      // Checked: all of acme's log, none of the trail.
      assert.equal(reply.body.checked, test.acme.length);
    });

    it("neither sees nor reports another tenant's tampering", async (t) => {
      const test = await ledgerApp(t, engine);
      const globex = await positionsOf(test.db, 'globex');
      await tamper.editPayload(test.db, globex[1] as number);
      await tamper.remove(test.db, globex[3] as number);
      const acme = await test.verify();
      assert.equal(acme.body.ok, true, JSON.stringify(acme.body));
      const theirs = await test.verify('', await test.keyFor('globex', 'auditor'));
      assert.deepEqual(theirs.body.first_broken, {
        partition: 'events',
        position: globex[1],
        reason: 'hash_mismatch',
      });
    });

    it('verifies a range, starting from the stored hash before it', async (t) => {
      const test = await ledgerApp(t, engine);
      await tamper.editPayload(test.db, test.acme[1] as number);
      const after = await test.verify(`?from=${test.acme[2]}&to=${test.acme[4]}`);
      // acme's events 2, 3 and 4, and none of the trail (its positions are all earlier).
      assert.equal(after.body.ok, true, JSON.stringify(after.body));
      assert.equal(
        after.body.checked,
        3 +
          (await positionsOf(test.db, '$audit:acme')).filter(
            (p) => p >= (test.acme[2] as number) && p <= (test.acme[4] as number),
          ).length,
      );
      const over = await test.verify(`?from=${test.acme[0]}&to=${test.acme[4]}`);
      assert.deepEqual(over.body.first_broken, {
        partition: 'events',
        position: test.acme[1],
        reason: 'hash_mismatch',
      });
    });

    it('refuses without audit:verify (403) and without credentials (401)', async (t) => {
      const test = await ledgerApp(t, engine);
      const viewer = await test.verify('', await test.keyFor('acme', 'viewer'));
      assert.equal(viewer.status, 403);
      assert.equal(viewer.body.code, 'permission_denied');
      const anonymous = await test.verify('', null);
      assert.equal(anonymous.status, 401);
    });

    it('answers bad parameters and forged cursors with 400 problem+json', async (t) => {
      const test = await ledgerApp(t, engine);
      const forged = Buffer.from(JSON.stringify({ p: 'other', a: 1 })).toString('base64url');
      const extra = Buffer.from(JSON.stringify({ p: 'events', a: 1, h: 'x' })).toString(
        'base64url',
      );
      const negative = Buffer.from(JSON.stringify({ p: 'audit', a: -4 })).toString('base64url');
      for (const [query, code] of [
        ['?from=abc', 'validation_failed'],
        ['?from=0', 'validation_failed'],
        ['?to=1.5', 'validation_failed'],
        ['?since=1', 'validation_failed'],
        ['?from=9&to=3', 'ledger_range_invalid'],
        ['?cursor=not%20base64!', 'ledger_cursor_invalid'],
        [`?cursor=${Buffer.from('{oops').toString('base64url')}`, 'ledger_cursor_invalid'],
        [`?cursor=${forged}`, 'ledger_cursor_invalid'],
        [`?cursor=${extra}`, 'ledger_cursor_invalid'],
        [`?cursor=${negative}`, 'ledger_cursor_invalid'],
      ] as const) {
        const reply = await test.verify(query);
        assert.equal(reply.status, 400, `${query}: ${JSON.stringify(reply.body)}`);
        assert.equal(reply.body.code, code, query);
      }
    });

    it('pages through 2,500 events with a small budget and counts every one', async (t) => {
      const test = await ledgerApp(t, engine, 300);
      await appendEvents(test.db, 'acme', 2500);
      const total =
        (await positionsOf(test.db, 'acme')).length +
        (await positionsOf(test.db, '$audit:acme')).length;
      let checked = 0;
      let cursor: string | null = null;
      let requests = 0;
      do {
        const reply = await test.verify(cursor ? `?cursor=${cursor}` : '');
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        assert.equal(reply.body.ok, true);
        assert.ok((reply.body.checked as number) <= 300);
        checked += reply.body.checked as number;
        cursor = reply.body.next_cursor as string | null;
        requests += 1;
      } while (cursor !== null && requests < 100);
      assert.equal(checked, total);
      assert.ok(requests >= Math.ceil(total / 300));
    });
  });
}
