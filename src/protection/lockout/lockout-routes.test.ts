import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type LockoutTestApp,
  lockoutTestApp,
  PASSWORD,
} from '../../../test/helpers/lockout-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';

const WRONG = 'not the password';

async function lockOut(test: LockoutTestApp, email: string, ip = '127.0.0.1'): Promise<void> {
  for (let i = 0; i < 3; i++) await test.attempt(email, WRONG, ip);
}

/** Ada (acme) and Gus (globex) locked; 192.0.2.1 slowed. */
async function twoTenants(t: Parameters<typeof lockoutTestApp>[0], engine: 'sqlite' | 'postgres') {
  const test = await lockoutTestApp(t, engine);
  const ada = await test.member('ada@acme.test', 'acme');
  const gus = await test.member('gus@globex.test', 'globex');
  await lockOut(test, 'ada@acme.test', '192.0.2.1');
  await lockOut(test, 'gus@globex.test', '192.0.2.2');
  return { test, ada, gus };
}

const userIds = (body: Record<string, unknown>) =>
  (body.lockouts as { user_id: string }[]).map((l) => l.user_id).sort();

for (const engine of testEngines()) {
  describe(`GET /api/v1/lockouts (${engine})`, () => {
    it("shows a tenant admin its own members' locks only", async (t) => {
      const { test, ada } = await twoTenants(t, engine);
      const reply = await test.send('GET', '/lockouts', await test.keyFor('acme'));
      assert.equal(reply.status, 200);
      const [lock] = reply.body.lockouts as Record<string, string>[];
      assert.equal((reply.body.lockouts as unknown[]).length, 1);
      assert.equal(lock?.kind, 'user');
      assert.equal(lock?.user_id, ada);
      assert.equal(lock?.email, 'ada@acme.test');
      assert.equal(
        Date.parse(lock?.locked_until ?? '') - Date.parse(lock?.locked_at ?? ''),
        120_000,
      );
      assert.equal(reply.body.next_cursor, null);
    });

    it('refuses a tenant admin other tenants and the IP list', async (t) => {
      const { test } = await twoTenants(t, engine);
      const acme = await test.keyFor('acme');
      const other = await test.send('GET', '/lockouts?tenant_id=globex', acme);
      assert.equal(other.status, 403);
      assert.equal(other.body.code, 'permission_denied');
      const ips = await test.send('GET', '/lockouts?kind=ip', acme);
      assert.equal(ips.status, 403);
      assert.equal(ips.body.code, 'permission_denied');
    });

    it('refuses a role without users:manage, and no credentials', async (t) => {
      const { test } = await twoTenants(t, engine);
      const viewer = await test.send('GET', '/lockouts', await test.keyFor('acme', 'viewer'));
      assert.equal(viewer.status, 403);
      assert.equal(viewer.body.code, 'permission_denied');
      assert.equal((await test.send('GET', '/lockouts', null)).status, 401);
    });

    it('shows a platform admin every lock, by tenant, and every slowed IP, page by page', async (t) => {
      const { test, ada, gus } = await twoTenants(t, engine);
      const all = await test.send('GET', '/lockouts', test.platform);
      assert.deepEqual(userIds(all.body), [ada, gus].sort());
      const globex = await test.send('GET', '/lockouts?tenant_id=globex', test.platform);
      assert.deepEqual(userIds(globex.body), [gus]);

      const first = await test.send('GET', '/lockouts?kind=ip&limit=1', test.platform);
      assert.equal(first.status, 200);
      assert.deepEqual(
        (first.body.lockouts as Record<string, unknown>[]).map(
          ({ last_failure_at, ...rest }) => rest,
        ),
        [{ kind: 'ip', ip: '192.0.2.1', failures: 3, delay_ms: 100 }],
      );
      assert.equal(first.body.next_cursor, '192.0.2.1');
      const second = await test.send(
        'GET',
        '/lockouts?kind=ip&limit=1&after=192.0.2.1',
        test.platform,
      );
      assert.equal((second.body.lockouts as { ip: string }[])[0]?.ip, '192.0.2.2');
    });

    it('refuses an unknown kind with 400', async (t) => {
      const test = await lockoutTestApp(t, engine);
      const reply = await test.send('GET', '/lockouts?kind=email', test.platform);
      assert.equal(reply.status, 400);
      assert.equal(reply.body.code, 'validation_failed');
    });
  });

  describe(`DELETE /api/v1/lockouts (${engine})`, () => {
    it("unlocks a member for its tenant admin, audited in the member's trail", async (t) => {
      const { test, ada } = await twoTenants(t, engine);
      const acme = await test.keyFor('acme');
      assert.equal((await test.send('DELETE', `/lockouts/users/${ada}`, acme)).status, 204);
      assert.equal((await test.attempt('ada@acme.test', PASSWORD)).statusCode, 200);
      const again = await test.send('DELETE', `/lockouts/users/${ada}`, acme);
      assert.equal(again.status, 404);
      assert.equal(again.body.code, 'lockout_not_found');
      const trail = await test.send('GET', '/audit?action=account.unlocked', acme);
      const [event] = trail.body.events as { payload: Record<string, unknown> }[];
      assert.equal(event?.payload.target, `user:${ada}`);
      assert.equal(event?.payload.actor_type, 'api_key');
    });

    it("answers 404 for another tenant's locked member and leaves it locked", async (t) => {
      const { test, gus } = await twoTenants(t, engine);
      const acme = await test.keyFor('acme');
      const reply = await test.send('DELETE', `/lockouts/users/${gus}`, acme);
      assert.equal(reply.status, 404);
      assert.equal(reply.body.code, 'lockout_not_found');
      const unknown = await test.send('DELETE', '/lockouts/users/no-such-user', acme);
      assert.deepEqual(
        { ...unknown.body, request_id: null },
        { ...reply.body, request_id: null },
        'another tenant’s user looks exactly like no user',
      );
      assert.equal((await test.attempt('gus@globex.test', PASSWORD)).statusCode, 401);
      const viewer = await test.send(
        'DELETE',
        `/lockouts/users/${gus}`,
        await test.keyFor('globex', 'viewer'),
      );
      assert.equal(viewer.status, 403);
      assert.equal((await test.send('DELETE', `/lockouts/users/${gus}`, null)).status, 401);
    });

    it('lets a platform admin unlock anyone and clear an IP; tenant admins cannot clear IPs', async (t) => {
      const { test, gus } = await twoTenants(t, engine);
      assert.equal(
        (await test.send('DELETE', `/lockouts/users/${gus}`, test.platform)).status,
        204,
      );
      const acme = await test.send('DELETE', '/lockouts/ips/192.0.2.1', await test.keyFor('acme'));
      assert.equal(acme.status, 403);
      assert.equal(
        (await test.send('DELETE', '/lockouts/ips/192.0.2.1', test.platform)).status,
        204,
      );
      const gone = await test.send('DELETE', '/lockouts/ips/192.0.2.1', test.platform);
      assert.equal(gone.status, 404);
      assert.equal(gone.body.code, 'lockout_not_found');
      const bad = await test.send('DELETE', '/lockouts/ips/not-an-ip', test.platform);
      assert.equal(bad.status, 400);
      assert.equal(bad.body.code, 'validation_failed');

      test.delays.length = 0;
      await test.attempt('x@acme.test', WRONG, '192.0.2.1');
      assert.deepEqual(test.delays, [], 'a cleared IP is no longer slowed');
      const trail = await test.send('GET', '/audit?action=login_ip.cleared', test.platform);
      assert.equal((trail.body.events as unknown[]).length, 1);
    });

    it('clears an IPv6 address', async (t) => {
      const test = await lockoutTestApp(t, engine);
      await lockOut(test, 'x@acme.test', '2001:db8::1');
      const listed = await test.send('GET', '/lockouts?kind=ip', test.platform);
      assert.equal((listed.body.lockouts as { ip: string }[])[0]?.ip, '2001:db8::1');
      const reply = await test.send(
        'DELETE',
        `/lockouts/ips/${encodeURIComponent('2001:db8::1')}`,
        test.platform,
      );
      assert.equal(reply.status, 204);
    });

    it('counts and clears an address whatever its spelling', async (t) => {
      const test = await lockoutTestApp(t, engine);
      // A dual-stack listener reports IPv4 clients as IPv4-mapped IPv6.
      await lockOut(test, 'x@acme.test', '::ffff:198.51.100.7');
      const listed = await test.send('GET', '/lockouts?kind=ip', test.platform);
      assert.equal((listed.body.lockouts as { ip: string }[])[0]?.ip, '198.51.100.7');
      const mapped = await test.send(
        'DELETE',
        `/lockouts/ips/${encodeURIComponent('::FFFF:198.51.100.7')}`,
        test.platform,
      );
      assert.equal(mapped.status, 204);

      await lockOut(test, 'y@acme.test', '2001:db8::2');
      const long = await test.send(
        'DELETE',
        `/lockouts/ips/${encodeURIComponent('2001:DB8:0:0:0:0:0:2')}`,
        test.platform,
      );
      assert.equal(long.status, 204);
    });
  });
}
