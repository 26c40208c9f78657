import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type IpFilterTestApp, ipFilterTestApp } from '../../../test/helpers/ip-filter-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';

const FILTERS = '/api/v1/ip-filters';

async function trail(test: IpFilterTestApp, tenant: string) {
  const reply = await test.send('GET', '/api/v1/audit?order=asc&limit=1000', {
    key: tenant === 'system' ? test.platform : await test.keyFor(tenant, 'auditor'),
  });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return (reply.body.events as { payload: Record<string, unknown> }[])
    .map((event) => event.payload)
    .filter((payload) => String(payload.action).startsWith('ip_filter.'));
}

async function listed(test: IpFilterTestApp, key: string, query = '', from = '127.0.0.1') {
  const reply = await test.send('GET', `${FILTERS}${query}`, { key, from });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return reply.body.ip_filters as Record<string, unknown>[];
}

for (const engine of testEngines()) {
  describe(`IP filter routes (${engine})`, () => {
    it('adds, lists and removes a tenant entry, auditing each change', async (t) => {
      const test = await ipFilterTestApp(t, engine);
      const admin = await test.keyFor('acme');
      const created = await test.add(admin, {
        cidr: '2001:DB8:0:0::/32',
        action: 'block',
        reason: 'abuse from this network',
      });
      assert.equal(created.cidr, '2001:db8::/32', 'stored in canonical form');
      assert.equal(created.scope, 'tenant');
      assert.equal(created.tenant_id, 'acme');
      assert.equal(created.action, 'block');
      assert.equal(created.created_by_type, 'api_key');
      assert.equal(typeof created.created_by, 'string');
      assert.ok(!Number.isNaN(Date.parse(String(created.created_at))));
      assert.deepEqual(await listed(test, admin), [created]);

      const removed = await test.send('DELETE', `${FILTERS}/${created.id}`, { key: admin });
      assert.equal(removed.status, 204);
      assert.deepEqual(await listed(test, admin), []);
      const again = await test.send('DELETE', `${FILTERS}/${created.id}`, { key: admin });
      assert.equal(again.status, 404);
      assert.equal(again.body.code, 'ip_filter_not_found');

      const events = await trail(test, 'acme');
      assert.deepEqual(
        events.map((e) => [e.action, e.target, e.outcome, e.actor_type]),
        [
          ['ip_filter.created', `ip_filter:${created.id}`, 'success', 'api_key'],
          ['ip_filter.removed', `ip_filter:${created.id}`, 'success', 'api_key'],
        ],
      );
      assert.deepEqual(events[0]?.details, {
        scope: 'tenant',
        cidr: '2001:db8::/32',
        action: 'block',
        reason: 'abuse from this network',
      });
    });

    it('pages through a list', async (t) => {
      const test = await ipFilterTestApp(t, engine);
      const admin = await test.keyFor('acme');
      for (const n of [1, 2, 3]) {
        await test.add(admin, { cidr: `192.0.2.${n}`, action: 'block', reason: 'r' });
      }
      const first = await test.send('GET', `${FILTERS}?limit=2`, { key: admin });
      assert.equal((first.body.ip_filters as unknown[]).length, 2);
      assert.equal(typeof first.body.next_cursor, 'string');
      const second = await test.send('GET', `${FILTERS}?limit=2&after=${first.body.next_cursor}`, {
        key: admin,
      });
      assert.equal((second.body.ip_filters as unknown[]).length, 1);
      assert.equal(second.body.next_cursor, null);
    });

    it('refuses bad input with a 400 and changes nothing', async (t) => {
      const test = await ipFilterTestApp(t, engine);
      const admin = await test.keyFor('acme');
      const cases: [object, string, RegExp?][] = [
        [{ cidr: '10.1.2.3/8', action: 'block', reason: 'r' }, 'invalid_cidr', /10\.0\.0\.0\/8/],
        [{ cidr: '1.2.3.4/33', action: 'block', reason: 'r' }, 'invalid_cidr', /too long/],
        [{ cidr: '::/129', action: 'block', reason: 'r' }, 'invalid_cidr', /too long/],
        [{ cidr: '256.0.0.1', action: 'block', reason: 'r' }, 'invalid_cidr', /not an IPv4/],
        [{ cidr: 'example.com', action: 'allow', reason: 'r' }, 'invalid_cidr'],
        [{ cidr: '1:2:3', action: 'allow', reason: 'r' }, 'invalid_cidr'],
        [{ cidr: '10.0.0.0/8', action: 'deny', reason: 'r' }, 'validation_failed'],
        [{ cidr: '10.0.0.0/8', action: 'block' }, 'validation_failed'],
        [{ cidr: '10.0.0.0/8', action: 'block', reason: '' }, 'validation_failed'],
        [{ cidr: '', action: 'block', reason: 'r' }, 'validation_failed'],
        [{ cidr: '10.0.0.0/8', action: 'block', reason: 'r', note: 'x' }, 'validation_failed'],
        [{ cidr: '10.0.0.0/8', action: 'block', reason: 'r', scope: 'world' }, 'validation_failed'],
        [{ cidr: { v4: '10.0.0.0' }, action: 'block', reason: 'r' }, 'validation_failed'],
      ];
      for (const [payload, code, detail] of cases) {
        const reply = await test.send('POST', FILTERS, { key: admin, payload });
        assert.equal(reply.status, 400, JSON.stringify(payload));
        assert.equal(reply.body.code, code, JSON.stringify(reply.body));
        if (detail) assert.match(String(reply.body.detail), detail);
      }
      const badQuery = await test.send('GET', `${FILTERS}?scope=world`, { key: admin });
      assert.equal(badQuery.status, 400);
      const unknownQuery = await test.send('GET', `${FILTERS}?tenant=beta`, { key: admin });
      assert.equal(unknownQuery.status, 400);
      assert.deepEqual(await listed(test, admin), []);
      assert.deepEqual(await trail(test, 'acme'), []);
    });

    it('refuses a range the list has already, whatever its action', async (t) => {
      const test = await ipFilterTestApp(t, engine);
      const admin = await test.keyFor('acme');
      const first = await test.add(admin, {
        cidr: '198.51.100.0/24',
        action: 'block',
        reason: 'r',
      });
      for (const entry of [
        { cidr: '198.51.100.0/24', action: 'block', reason: 'again' },
        { cidr: '::ffff:198.51.100.0/120', action: 'block', reason: 'mapped spelling' },
      ]) {
        const reply = await test.send('POST', FILTERS, { key: admin, payload: entry });
        assert.equal(reply.status, 409);
        assert.equal(reply.body.code, 'ip_filter_exists');
        assert.equal(reply.body.id, first.id);
      }
      // Another tenant's list is its own.
      await test.add(await test.keyFor('beta'), {
        cidr: '198.51.100.0/24',
        action: 'block',
        reason: 'r',
      });
      assert.equal((await listed(test, admin)).length, 1);
    });

    it('needs credentials and network:manage, and keeps tenants apart', async (t) => {
      const test = await ipFilterTestApp(t, engine);
      const acme = await test.keyFor('acme');
      const beta = await test.keyFor('beta');
      const entry = await test.add(acme, { cidr: '192.0.2.0/24', action: 'block', reason: 'r' });
      const payload = { cidr: '203.0.113.0/24', action: 'block', reason: 'r' };

      for (const [method, url] of [
        ['GET', FILTERS],
        ['POST', FILTERS],
        ['DELETE', `${FILTERS}/${entry.id}`],
      ] as const) {
        const anonymous = await test.send(method, url, method === 'POST' ? { payload } : {});
        assert.equal(anonymous.status, 401, `${method} without credentials`);
        for (const role of ['developer', 'viewer', 'auditor']) {
          const reply = await test.send(method, url, {
            key: await test.keyFor('acme', role),
            ...(method === 'POST' ? { payload } : {}),
          });
          assert.equal(reply.status, 403, `${method} as ${role}`);
          assert.equal(reply.body.code, 'permission_denied');
        }
      }

      assert.deepEqual(await listed(test, beta), [], "beta does not see acme's list");
      const cross = await test.send('DELETE', `${FILTERS}/${entry.id}`, { key: beta });
      assert.equal(cross.status, 404);
      assert.equal(cross.body.code, 'ip_filter_not_found');
      assert.deepEqual(
        (await listed(test, acme)).map((e) => e.id),
        [entry.id],
        "acme's entry is untouched",
      );
      assert.deepEqual(await trail(test, 'beta'), []);
    });

    it('keeps the global list to platform administrators', async (t) => {
      const test = await ipFilterTestApp(t, engine);
      const acme = await test.keyFor('acme');
      const payload = {
        cidr: '203.0.113.0/24',
        action: 'block',
        reason: 'botnet',
        scope: 'global',
      };
      const denied = await test.send('POST', FILTERS, { key: acme, payload });
      assert.equal(denied.status, 403);
      assert.equal(denied.body.code, 'permission_denied');
      assert.equal(denied.body.permission, 'platform:network');
      assert.equal((await test.send('GET', `${FILTERS}?scope=global`, { key: acme })).status, 403);

      const global = await test.add(test.platform, payload);
      assert.equal(global.scope, 'global');
      assert.equal(global.tenant_id, null);
      assert.deepEqual(await listed(test, test.platform, '?scope=global'), [global]);
      assert.deepEqual(await listed(test, test.platform), [], "system's own list is apart");
      assert.deepEqual(await listed(test, acme), [], 'tenants do not see the global list');

      const cross = await test.send('DELETE', `${FILTERS}/${global.id}`, { key: acme });
      assert.equal(cross.status, 404, 'a tenant admin cannot remove a global entry');
      assert.equal((await listed(test, test.platform, '?scope=global')).length, 1);

      // A system-tenant role with network:manage but not platform:network.
      const systemOperator = await test.keyFor('system', 'developer');
      assert.equal((await test.send('GET', FILTERS, { key: systemOperator })).status, 403);

      const removed = await test.send('DELETE', `${FILTERS}/${global.id}`, { key: test.platform });
      assert.equal(removed.status, 204);
      const events = await trail(test, 'system');
      assert.deepEqual(
        events.map((e) => [e.action, (e.details as Record<string, unknown>).scope]),
        [
          ['ip_filter.created', 'global'],
          ['ip_filter.removed', 'global'],
        ],
      );
      assert.deepEqual(await trail(test, 'acme'), []);
    });

    it('refuses a change that would lock the caller out, and allows it from elsewhere', async (t) => {
      const test = await ipFilterTestApp(t, engine);
      const admin = await test.keyFor('acme');
      const lockout = async (method: 'POST' | 'DELETE', url: string, payload?: object) => {
        const reply = await test.send(method, url, {
          key: admin,
          from: '192.0.2.10',
          ...(payload ? { payload } : {}),
        });
        assert.equal(reply.status, 409, JSON.stringify(reply.body));
        assert.equal(reply.body.code, 'ip_filter_self_lockout');
        assert.match(String(reply.body.detail), /192\.0\.2\.10/);
      };
      // The first allow entry not covering the caller; a block covering the caller.
      await lockout('POST', FILTERS, { cidr: '10.0.0.0/8', action: 'allow', reason: 'office' });
      await lockout('POST', FILTERS, { cidr: '192.0.2.0/24', action: 'block', reason: 'r' });
      await lockout('POST', FILTERS, { cidr: '::/0', action: 'block', reason: 'r' });
      assert.deepEqual(await listed(test, admin), []);

      // Allowing the caller's own range first, then the office, is fine.
      const own = await test.add(
        admin,
        { cidr: '192.0.2.0/24', action: 'allow', reason: 'vpn' },
        '192.0.2.10',
      );
      await test.add(
        admin,
        { cidr: '10.0.0.0/8', action: 'allow', reason: 'office' },
        '192.0.2.10',
      );
      // Removing the entry that admits the caller, while others remain, is not.
      await lockout('DELETE', `${FILTERS}/${own.id}`);
      // From an address the rest of the list admits, it is.
      const fromOffice = await test.send('DELETE', `${FILTERS}/${own.id}`, {
        key: admin,
        from: '10.1.1.1',
      });
      assert.equal(fromOffice.status, 204);
      assert.deepEqual(
        (await listed(test, admin, '', '10.1.1.1')).map((e) => e.cidr),
        ['10.0.0.0/8'],
      );
    });
  });
}
