import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  clientsTestApp,
  MACHINE_CLIENT,
  NATIVE_CLIENT,
  WEB_CLIENT,
} from '../../../test/helpers/oauth-client-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';
import { digestSecret } from '../../platform/secrets.ts';
import type { OAuthClientOwner } from './oauth-client-lookup.ts';
import { verifyClientSecret } from './oauth-client-lookup.ts';

describe('verifyClientSecret', () => {
  const secret = 'tcs_right';
  it('accepts the secret whose digest is stored, and nothing else', () => {
    const record = { secret_digest: digestSecret(secret) };
    assert.equal(verifyClientSecret(record, secret), true);
    for (const wrong of ['', 'tcs_righ', 'tcs_right ', 'tcs_wrong', record.secret_digest]) {
      assert.equal(verifyClientSecret(record, wrong), false, wrong);
    }
  });

  it('accepts nothing for a public client, which has no secret', () => {
    assert.equal(verifyClientSecret({ secret_digest: null }, ''), false);
    assert.equal(verifyClientSecret({ secret_digest: null }, secret), false);
  });
});

/** What the provider's lookup answers, and how a cached answer follows changes. */
for (const engine of testEngines()) {
  describe(`OAuth client lookup (${engine})`, () => {
    it('finds a client by client_id with its digest, tenant state and creator roles', async (t) => {
      const app = await clientsTestApp(t, engine);
      const lookup = app.services.identity.oauthClients.lookup;
      const created = await app.register(MACHINE_CLIENT);
      const found = await lookup(String(created.body.id));
      assert.ok(found);
      const { client_secret: secret, ...shown } = created.body;
      assert.equal(found.id, shown.id);
      assert.equal(found.tenant_id, 'acme');
      assert.equal(found.role, 'service');
      assert.deepEqual(found.grant_types, ['client_credentials']);
      assert.equal(found.created_by, app.admin.id);
      assert.equal(found.secret_digest, digestSecret(String(secret)));
      assert.equal(found.tenant_status, 'active');
      assert.deepEqual(found.creator_roles, ['admin']);
      assert.equal(verifyClientSecret(found, String(secret)), true);
      assert.equal(await lookup('tc_nobody'), undefined);

      const native = await app.register(NATIVE_CLIENT);
      const publicClient = await lookup(String(native.body.id));
      assert.equal(publicClient?.secret_digest, null);
      assert.equal(publicClient?.type, 'public');

      // Registered with an API key nobody created: the tenant's own, no creator to cap it.
      const byKey = await app.register(WEB_CLIENT, await app.keyFor('acme'));
      assert.equal((await lookup(String(byKey.body.id)))?.creator_roles, null);

      await app.services.tenancy.tenants.setStatus('acme', 'suspended');
      assert.equal((await lookup(String(created.body.id)))?.tenant_status, 'suspended');
    });

    it('reports a creator who left: no roles to act with', async (t) => {
      const app = await clientsTestApp(t, engine);
      const ben = await app.member('acme', 'ben@acme.test', ['admin']);
      const created = await app.register(MACHINE_CLIENT, ben.token);
      const id = String(created.body.id);
      const lookup = app.services.identity.oauthClients.lookup;
      assert.deepEqual((await lookup(id))?.creator_roles, ['admin']);
      const deactivate = await app.send('POST', `/users/${ben.id}/deactivate`, app.admin.token);
      assert.equal(deactivate.status, 200, JSON.stringify(deactivate.body));
      assert.deepEqual((await lookup(id))?.creator_roles, []);
    });

    it('refuses the old secret once rotated, and finds nothing once deleted', async (t) => {
      const app = await clientsTestApp(t, engine);
      const lookup = app.services.identity.oauthClients.lookup;
      const created = await app.register(WEB_CLIENT);
      const id = String(created.body.id);
      const old = String(created.body.client_secret);
      const rotated = await app.send('POST', `/oauth/clients/${id}/secret`, app.admin.token);
      const fresh = String(rotated.body.client_secret);
      const found = await lookup(id);
      assert.ok(found);
      assert.equal(verifyClientSecret(found, fresh), true, 'the new secret');
      assert.equal(verifyClientSecret(found, old), false, 'the old secret, at once');
      assert.equal((await app.send('DELETE', `/oauth/clients/${id}`, app.admin.token)).status, 204);
      assert.equal(await lookup(id), undefined);
    });

    it('drops a cached client from the credential cache when it changes or goes', async (t) => {
      const app = await clientsTestApp(t, engine);
      const { lookup } = app.services.identity.oauthClients;
      const { credentials } = app.services.identity;
      const created = await app.register(WEB_CLIENT);
      const id = String(created.body.id);
      let loads = 0;
      // What the provider will do: cache the lookup, owned by the client, tenant and creator.
      const cached = () =>
        credentials.through(
          `oauth_client:${id}`,
          () => {
            loads += 1;
            return lookup(id);
          },
          (client: OAuthClientOwner) => ({
            tenant: client.tenant_id,
            user: client.created_by,
            session: null,
            api_key: null,
            oauth_client: client.id,
          }),
        );
      assert.equal((await cached())?.name, WEB_CLIENT.name);
      await cached();
      assert.equal(loads, 1, 'answered from the cache');
      const url = `/oauth/clients/${id}`;
      assert.equal((await app.send('PATCH', url, app.admin.token, { name: 'New' })).status, 200);
      assert.equal((await cached())?.name, 'New');
      assert.equal(loads, 2, 'read again after the change');
      assert.equal((await app.send('POST', `${url}/secret`, app.admin.token)).status, 200);
      const afterRotation = await cached();
      assert.equal(loads, 3, 'read again after the rotation');
      assert.equal(
        verifyClientSecret(afterRotation as OAuthClientOwner, String(created.body.client_secret)),
        false,
      );
      assert.equal((await app.send('DELETE', url, app.admin.token)).status, 204);
      assert.equal(await cached(), undefined);
    });

    it('records every change in the tenant’s trail, never a secret', async (t) => {
      const app = await clientsTestApp(t, engine);
      const created = await app.register(MACHINE_CLIENT);
      const id = String(created.body.id);
      const url = `/oauth/clients/${id}`;
      await app.send('PATCH', url, app.admin.token, {
        name: 'Ingest',
        access_token_ttl_seconds: 120,
      });
      const rotated = await app.send('POST', `${url}/secret`, app.admin.token);
      // A refused change leaves nothing.
      assert.equal((await app.send('PATCH', url, app.admin.token, { role: 'root' })).status, 400);
      assert.equal((await app.send('DELETE', url, app.admin.token)).status, 204);
      const trail = await app.audit('acme', 'oauth_client.');
      assert.deepEqual(
        trail.map((entry) => [entry.action, entry.target, entry.actor, entry.actor_type]),
        [
          ['oauth_client.created', `oauth_client:${id}`, app.admin.id, 'user'],
          ['oauth_client.updated', `oauth_client:${id}`, app.admin.id, 'user'],
          ['oauth_client.secret_rotated', `oauth_client:${id}`, app.admin.id, 'user'],
          ['oauth_client.deleted', `oauth_client:${id}`, app.admin.id, 'user'],
        ],
      );
      assert.deepEqual(trail[0]?.details, {
        name: MACHINE_CLIENT.name,
        type: 'confidential',
        grant_types: ['client_credentials'],
        redirect_uris: [],
        post_logout_redirect_uris: [],
        scopes: MACHINE_CLIENT.scopes,
        role: 'service',
        first_party: false,
        tenant_choice: false,
        access_ttl_seconds: 900,
        refresh_ttl_seconds: 2_592_000,
      });
      assert.deepEqual(trail[1]?.details, { name: 'Ingest', access_ttl_seconds: 120 });
      assert.deepEqual(trail[2]?.details, { name: 'Ingest' });
      assert.deepEqual(trail[3]?.details, { name: 'Ingest', type: 'confidential' });
      const text = JSON.stringify(trail);
      for (const secret of [created.body.client_secret, rotated.body.client_secret]) {
        assert.ok(!text.includes(String(secret)) && !text.includes(digestSecret(String(secret))));
      }
      assert.doesNotMatch(text, /tcs_/);
    });
  });
}
