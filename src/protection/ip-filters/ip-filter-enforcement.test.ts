import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type IpFilterTestApp,
  ipFilterTestApp,
  type Request,
} from '../../../test/helpers/ip-filter-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';
import { hashPassword } from '../../identity/login/passwords.ts';

const STATS = '/api/v1/stats';

/** The status of `GET url` (default: an authenticated route) as `request` says. */
async function status(test: IpFilterTestApp, request: Request, url = STATS): Promise<number> {
  return (await test.send('GET', url, request)).status;
}

function blocksOf(metrics: string, scope: string): number {
  const line = metrics
    .split('\n')
    .find((l) => l.startsWith(`ip_filter_blocks_total{scope="${scope}"}`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

for (const engine of testEngines()) {
  describe(`IP filter enforcement (${engine})`, () => {
    it('refuses globally blocked addresses on every route but the probes', async (t) => {
      const test = await ipFilterTestApp(t, engine);
      const acme = await test.keyFor('acme');
      await test.add(test.platform, {
        cidr: '203.0.113.0/24',
        action: 'block',
        reason: 'botnet',
        scope: 'global',
      });
      const blocked = { key: acme, from: '203.0.113.7' };
      const refusal = await test.send('GET', STATS, blocked);
      assert.equal(refusal.status, 403);
      assert.equal(refusal.body.code, 'ip_blocked');
      assert.match(String(refusal.headers['content-type']), /application\/problem\+json/);
      assert.equal(typeof refusal.headers['x-request-id'], 'string');
      assert.doesNotMatch(JSON.stringify(refusal.body), /203\.0\.113|botnet|global/);

      for (const url of [
        '/api/v1/auth/me',
        '/.well-known/jwks.json',
        '/metrics',
        '/openapi.json',
      ]) {
        assert.equal(await status(test, { from: '203.0.113.7' }, url), 403, url);
      }
      // A path no route serves answers 404 to everyone, as documented: there is nothing to refuse.
      assert.equal(await status(test, { from: '203.0.113.7' }, '/no/such'), 404);
      for (const url of ['/health', '/liveness', '/readiness']) {
        assert.equal(await status(test, { from: '203.0.113.7' }, url), 200, `${url} is a probe`);
      }
      assert.equal(await status(test, { key: acme, from: '203.0.113.0' }), 403, 'first address');
      assert.equal(await status(test, { key: acme, from: '203.0.113.255' }), 403, 'last address');
      assert.equal(await status(test, { key: acme, from: '203.0.114.1' }), 200);
      assert.equal(await status(test, { key: acme, from: '::ffff:203.0.113.9' }), 403, 'mapped');

      const metrics = await test.send('GET', '/metrics');
      assert.equal(metrics.status, 200);
      const text = (await test.app.inject({ url: '/metrics' })).body;
      assert.ok(blocksOf(text, 'global') >= 7, text);
      assert.equal(blocksOf(text, 'tenant'), 0);
    });

    it('refuses a login from a globally blocked address before checking anything', async (t) => {
      const test = await ipFilterTestApp(t, engine);
      const user = await test.services.identity.users.createUser({
        email: 'boss@acme.test',
        password_hash: await hashPassword('correct horse battery'),
      });
      await test.keyFor('acme');
      await test.services.tenancy.memberships.grant('acme', user.id, ['admin']);
      await test.add(test.platform, {
        cidr: '2001:db8::/32',
        action: 'block',
        reason: 'r',
        scope: 'global',
      });
      const payload = { email: 'boss@acme.test', password: 'correct horse battery' };
      const login = (from: string) => test.send('POST', '/api/v1/auth/login', { from, payload });
      assert.equal((await login('2001:db8:1::1')).status, 403);
      assert.equal((await login('2001:db9::1')).status, 200);
    });

    it('applies a tenant list to requests authenticated to that tenant only', async (t) => {
      const test = await ipFilterTestApp(t, engine);
      const acme = await test.keyFor('acme');
      const beta = await test.keyFor('beta');
      await test.add(acme, { cidr: '198.51.100.0/24', action: 'block', reason: 'r' });
      const refusal = await test.send('GET', STATS, { key: acme, from: '198.51.100.1' });
      assert.equal(refusal.status, 403);
      assert.equal(refusal.body.code, 'ip_blocked');
      assert.equal(
        await status(test, { key: beta, from: '198.51.100.1' }),
        200,
        'beta is not acme',
      );
      assert.equal(await status(test, { from: '198.51.100.1' }, '/.well-known/jwks.json'), 200);
      assert.equal(await status(test, { key: acme, from: '198.51.101.1' }), 200);

      // Refusals are counted, not written to the tenant's audit trail one by one.
      const text = (await test.app.inject({ url: '/metrics' })).body;
      assert.equal(blocksOf(text, 'tenant'), 1);
      const audit = await test.send('GET', '/api/v1/audit?limit=1000', { key: acme });
      const actions = (audit.body.events as { payload: { action: string } }[]).map(
        (e) => e.payload.action,
      );
      assert.ok(!actions.includes('request.denied'), actions.join());
    });

    it('admits only an allow list’s ranges once it has one, and a block still refuses', async (t) => {
      const test = await ipFilterTestApp(t, engine);
      const acme = await test.keyFor('acme');
      const office = '10.20.30.40';
      assert.equal(await status(test, { key: acme, from: '192.0.2.1' }), 200, 'empty list');
      await test.add(acme, { cidr: '10.0.0.0/8', action: 'allow', reason: 'office' }, office);
      await test.add(acme, { cidr: 'fd00::/8', action: 'allow', reason: 'vpn' }, office);
      assert.equal(await status(test, { key: acme, from: office }), 200);
      assert.equal(await status(test, { key: acme, from: 'fd12:3456::1' }), 200, 'IPv6 allowed');
      assert.equal(await status(test, { key: acme, from: '::ffff:10.1.1.1' }), 200, 'mapped');
      assert.equal(await status(test, { key: acme, from: '192.0.2.1' }), 403);
      assert.equal(await status(test, { key: acme, from: '2001:db8::1' }), 403);
      assert.equal(await status(test, { key: acme, from: '::1' }), 403);

      await test.add(acme, { cidr: '10.9.0.0/16', action: 'block', reason: 'lab' }, office);
      assert.equal(await status(test, { key: acme, from: '10.9.1.1' }), 403, 'block wins');
      assert.equal(await status(test, { key: acme, from: '10.8.1.1' }), 200);
    });

    it('applies the global and the tenant list each', async (t) => {
      const test = await ipFilterTestApp(t, engine);
      const acme = await test.keyFor('acme');
      await test.add(
        test.platform,
        {
          cidr: '10.0.0.0/8',
          action: 'allow',
          reason: 'corporate only',
          scope: 'global',
        },
        '10.0.0.1',
      );
      await test.add(acme, { cidr: '10.1.0.0/16', action: 'allow', reason: 'acme' }, '10.1.0.1');
      assert.equal(await status(test, { key: acme, from: '10.1.2.3' }), 200, 'both admit');
      assert.equal(await status(test, { key: acme, from: '10.2.2.3' }), 403, 'tenant refuses');
      assert.equal(await status(test, { key: acme, from: '192.0.2.1' }), 403, 'global refuses');
      assert.equal(await status(test, { from: '192.0.2.1' }, '/health'), 200);
    });

    it('uses X-Forwarded-For only from a trusted proxy', async (t) => {
      // No trusted proxies: the header is the client's word, and ignored.
      const direct = await ipFilterTestApp(t, engine);
      const acme = await direct.keyFor('acme');
      await direct.add(direct.platform, {
        cidr: '203.0.113.9',
        action: 'block',
        reason: 'r',
        scope: 'global',
      });
      await direct.add(direct.platform, {
        cidr: '198.51.100.66',
        action: 'block',
        reason: 'r',
        scope: 'global',
      });
      const spoofed = { 'x-forwarded-for': '203.0.113.9' };
      assert.equal(
        await status(direct, { key: acme, from: '198.51.100.1', headers: spoofed }),
        200,
        'a block on the claimed address does not apply',
      );
      assert.equal(
        await status(direct, {
          key: acme,
          from: '198.51.100.66',
          headers: { 'x-forwarded-for': '192.0.2.1' },
        }),
        403,
        'a block on the real peer does',
      );

      const proxied = await ipFilterTestApp(t, engine, {
        server: { trusted_proxies: ['10.0.0.0/8'] },
      });
      const key = await proxied.keyFor('acme');
      await proxied.add(proxied.platform, {
        cidr: '203.0.113.9',
        action: 'block',
        reason: 'r',
        scope: 'global',
      });
      assert.equal(
        await status(proxied, { key, from: '10.0.0.1', headers: spoofed }),
        403,
        'a trusted proxy is believed',
      );
      assert.equal(
        await status(proxied, { key, from: '198.51.100.1', headers: spoofed }),
        200,
        'an untrusted peer is not',
      );
      assert.equal(
        await status(proxied, {
          key,
          from: '10.0.0.1',
          headers: { 'x-forwarded-for': '203.0.113.9, 10.0.0.2' },
        }),
        403,
        'through a chain of trusted proxies',
      );
    });
  });
}
