import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  clientsTestApp,
  MACHINE_CLIENT,
  NATIVE_CLIENT,
  WEB_CLIENT,
} from '../../../test/helpers/oauth-client-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';

type Json = Record<string, unknown>;

/** Registrations the schema refuses: 400 validation_failed. */
const MALFORMED: readonly [string, Json][] = [
  ['empty name', { ...WEB_CLIENT, name: '' }],
  ['name over 100 characters', { ...WEB_CLIENT, name: 'n'.repeat(101) }],
  ['unknown type', { ...WEB_CLIENT, type: 'trusted' }],
  ['no grant type', { ...WEB_CLIENT, grant_types: [] }],
  ['unknown grant type', { ...WEB_CLIENT, grant_types: ['password'] }],
  [
    'a grant type twice',
    { ...WEB_CLIENT, grant_types: ['authorization_code', 'authorization_code'] },
  ],
  ['11 redirect URIs', { ...WEB_CLIENT, redirect_uris: uris(11) }],
  ['11 post-logout URIs', { ...WEB_CLIENT, post_logout_redirect_uris: uris(11) }],
  ['no scope', { ...WEB_CLIENT, scopes: [] }],
  ['access token lifetime under 60', { ...WEB_CLIENT, access_token_ttl_seconds: 59 }],
  ['access token lifetime over 3600', { ...WEB_CLIENT, access_token_ttl_seconds: 3601 }],
  ['refresh token lifetime under 300', { ...WEB_CLIENT, refresh_token_ttl_seconds: 299 }],
  ['refresh token lifetime over 90 days', { ...WEB_CLIENT, refresh_token_ttl_seconds: 7_776_001 }],
  ['a secret chosen by the caller', { ...WEB_CLIENT, client_secret: 'tcs_mine' }],
  ['a tenant chosen by the caller', { ...WEB_CLIENT, tenant_id: 'globex' }],
  ['a role that is no role name', { ...MACHINE_CLIENT, role: 'Root!' }],
];

/** Registrations breaking a rule between fields: 400 invalid_client_metadata at `path`. */
const INVALID: readonly [string, Json, string][] = [
  ['refresh_token alone', { ...WEB_CLIENT, grant_types: ['refresh_token'] }, '/grant_types'],
  [
    'client_credentials for a public client',
    { ...NATIVE_CLIENT, grant_types: ['client_credentials'], redirect_uris: [], role: 'service' },
    '/grant_types',
  ],
  ['client_credentials without a role', { ...MACHINE_CLIENT, role: undefined }, '/role'],
  ['a role without client_credentials', { ...WEB_CLIENT, role: 'viewer' }, '/role'],
  [
    'authorization_code without redirect URIs',
    { ...WEB_CLIENT, redirect_uris: [] },
    '/redirect_uris',
  ],
  [
    'redirect URIs without authorization_code',
    { ...MACHINE_CLIENT, redirect_uris: ['https://a.test/cb'] },
    '/redirect_uris',
  ],
  [
    'post-logout URIs without authorization_code',
    { ...MACHINE_CLIENT, post_logout_redirect_uris: ['https://a.test/'] },
    '/post_logout_redirect_uris',
  ],
  ['a relative redirect URI', { ...WEB_CLIENT, redirect_uris: ['/callback'] }, '/redirect_uris/0'],
  [
    'a fragment',
    { ...WEB_CLIENT, redirect_uris: ['https://app.acme.test/cb#x'] },
    '/redirect_uris/0',
  ],
  [
    'plain http off loopback',
    { ...WEB_CLIENT, redirect_uris: ['http://app.acme.test/cb'] },
    '/redirect_uris/0',
  ],
  [
    'credentials in the URI',
    { ...WEB_CLIENT, redirect_uris: ['https://u:p@app.acme.test/cb'] },
    '/redirect_uris/0',
  ],
  [
    'a private-use scheme for a confidential client',
    { ...WEB_CLIENT, redirect_uris: ['com.acme.app:/cb'] },
    '/redirect_uris/0',
  ],
  [
    'a custom scheme without a dot',
    { ...NATIVE_CLIENT, redirect_uris: ['acmeapp:/cb'] },
    '/redirect_uris/0',
  ],
  ['javascript:', { ...NATIVE_CLIENT, redirect_uris: ['javascript:alert(1)'] }, '/redirect_uris/0'],
  [
    'a space the parser would trim',
    { ...WEB_CLIENT, redirect_uris: [' https://app.acme.test/cb'] },
    '/redirect_uris/0',
  ],
  [
    'a bad post-logout URI',
    { ...WEB_CLIENT, post_logout_redirect_uris: ['http://evil.test/'] },
    '/post_logout_redirect_uris/0',
  ],
  ['an unknown scope', { ...WEB_CLIENT, scopes: ['openid', 'admin'] }, '/scopes/1'],
  [
    'a platform permission as a scope',
    { ...MACHINE_CLIENT, scopes: ['platform:tenants'] },
    '/scopes/0',
  ],
];

function uris(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `https://app.acme.test/cb/${index}`);
}

for (const engine of testEngines()) {
  describe(`OAuth client validation (${engine})`, () => {
    it('refuses malformed registrations with 400 validation_failed, registering nothing', async (t) => {
      const app = await clientsTestApp(t, engine);
      for (const [what, body] of MALFORMED) {
        const refused = await app.register(body);
        assert.equal(refused.status, 400, what);
        assert.equal(refused.body.code, 'validation_failed', what);
      }
      assert.deepEqual((await app.send('GET', '/oauth/clients', app.admin.token)).body.clients, []);
    });

    it('refuses each broken rule with 400 invalid_client_metadata naming the field', async (t) => {
      const app = await clientsTestApp(t, engine);
      for (const [what, body, path] of INVALID) {
        const refused = await app.register(body);
        assert.equal(refused.status, 400, `${what}: ${JSON.stringify(refused.body)}`);
        assert.equal(refused.body.code, 'invalid_client_metadata', what);
        const paths = (refused.body.errors as { path: string }[]).map((error) => error.path);
        assert.ok(paths.includes(path), `${what}: ${paths.join(', ')}`);
      }
      // Every failure at once, not only the first.
      const many = await app.register({
        ...WEB_CLIENT,
        redirect_uris: ['http://a.test/cb', 'https://b.test/cb#f'],
        scopes: ['nope'],
      });
      assert.deepEqual(
        (many.body.errors as { path: string }[]).map((error) => error.path),
        ['/scopes/0', '/redirect_uris/0', '/redirect_uris/1'],
      );
      assert.deepEqual((await app.send('GET', '/oauth/clients', app.admin.token)).body.clients, []);
    });

    it('accepts loopback http, https, a dotted private-use scheme (public) and permission scopes', async (t) => {
      const app = await clientsTestApp(t, engine);
      const redirect_uris = [
        'http://127.0.0.1:8400/cb',
        'http://[::1]/cb',
        'http://localhost:3000/cb?x=1',
        'https://app.acme.test/cb',
        'com.acme.app:/oauth2redirect',
      ];
      const native = await app.register({ ...NATIVE_CLIENT, redirect_uris });
      assert.equal(native.status, 201, JSON.stringify(native.body));
      assert.deepEqual(native.body.redirect_uris, redirect_uris, 'kept exactly as sent');
      const scopes = ['events:read', 'audit:read', 'clients:manage'];
      const machine = await app.register({ ...MACHINE_CLIENT, role: 'admin', scopes });
      assert.equal(machine.status, 201, JSON.stringify(machine.body));
      assert.deepEqual(machine.body.scopes, scopes);
    });

    it('takes the tenant’s roles, built in or custom, never one stronger than the caller', async (t) => {
      const app = await clientsTestApp(t, engine);
      const unknown = await app.register({ ...MACHINE_CLIENT, role: 'root' });
      assert.equal(unknown.status, 400);
      assert.equal(unknown.body.code, 'invalid_roles');
      const admin = await app.keyFor('acme');
      for (const [name, permissions] of [
        ['integrator', ['clients:manage', 'events:read', 'events:write']],
        ['writer', ['events:write']],
      ] as const) {
        assert.equal((await app.send('POST', '/roles', admin, { name, permissions })).status, 201);
      }
      const ivy = await app.member('acme', 'ivy@acme.test', ['integrator']);
      const custom = await app.register({ ...MACHINE_CLIENT, role: 'writer' }, ivy.token);
      assert.equal(custom.status, 201, JSON.stringify(custom.body));
      assert.equal(custom.body.role, 'writer');
      assert.equal(custom.body.created_by, ivy.id);

      const stronger = await app.register({ ...MACHINE_CLIENT, role: 'admin' }, ivy.token);
      assert.equal(stronger.status, 403);
      assert.equal(stronger.body.code, 'role_not_delegable');
      // Nor may she manage a client stronger than herself that an admin registered.
      const strong = await app.register({ ...MACHINE_CLIENT, role: 'admin' });
      const url = `/oauth/clients/${strong.body.id}`;
      for (const [method, path, body] of [
        ['PATCH', url, { name: 'mine now' }],
        ['POST', `${url}/secret`, undefined],
        ['DELETE', url, undefined],
      ] as const) {
        const refused = await app.send(method, path, ivy.token, body);
        assert.equal(refused.status, 403, `${method} ${path}`);
        assert.equal(refused.body.code, 'role_not_delegable');
      }
      const escalate = await app.send('PATCH', `/oauth/clients/${custom.body.id}`, ivy.token, {
        role: 'admin',
      });
      assert.equal(escalate.body.code, 'role_not_delegable');
      const listed = (await app.send('GET', '/oauth/clients', app.admin.token)).body
        .clients as Json[];
      assert.deepEqual(listed.map((client) => [client.name, client.role]).sort(), [
        [MACHINE_CLIENT.name, 'admin'],
        [MACHINE_CLIENT.name, 'writer'],
      ]);
    });

    it('holds a tenant to oauth.max_clients_per_tenant: 409 beyond it, room again after a delete', async (t) => {
      const app = await clientsTestApp(t, engine, { oauth: { max_clients_per_tenant: 2 } });
      const first = await app.register(WEB_CLIENT);
      assert.equal((await app.register(NATIVE_CLIENT)).status, 201);
      const refused = await app.register(MACHINE_CLIENT);
      assert.equal(refused.status, 409);
      assert.equal(refused.body.code, 'oauth_client_limit_reached');
      assert.equal(refused.body.limit, 2);
      // Another tenant counts its own.
      const globex = await app.member('globex', 'gus@globex.test', ['admin']);
      assert.equal((await app.register(WEB_CLIENT, globex.token)).status, 201);
      const acme = await app.send('GET', '/oauth/clients', app.admin.token);
      assert.equal((acme.body.clients as Json[]).length, 2);
      const url = `/oauth/clients/${first.body.id}`;
      assert.equal((await app.send('DELETE', url, app.admin.token)).status, 204);
      assert.equal((await app.register(MACHINE_CLIENT)).status, 201);
    });
  });
}
