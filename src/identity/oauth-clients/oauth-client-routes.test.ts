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

type Json = Record<string, unknown>;

/** Issue 19: the OAuth client registry's routes, on each engine. */
for (const engine of testEngines()) {
  describe(`OAuth client routes (${engine})`, () => {
    it('registers a confidential client, showing its secret once and never its digest', async (t) => {
      const app = await clientsTestApp(t, engine);
      const created = await app.register(WEB_CLIENT);
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const { client_secret: secret, ...client } = created.body;
      assert.match(String(client.id), /^tc_[A-Za-z0-9_-]{24}$/);
      assert.match(String(secret), /^tcs_[A-Za-z0-9_-]{43}$/);
      assert.deepEqual(
        { ...client, id: undefined, secret_rotated_at: undefined },
        {
          ...WEB_CLIENT,
          id: undefined,
          tenant_id: 'acme',
          role: null,
          first_party: false,
          tenant_choice: false,
          access_token_ttl_seconds: 900,
          refresh_token_ttl_seconds: 2_592_000,
          secret_rotated_at: undefined,
          created_by: app.admin.id,
          created_at: client.created_at,
          updated_at: client.created_at,
        },
      );
      assert.equal(client.secret_rotated_at, client.created_at);

      const got = await app.send('GET', `/oauth/clients/${client.id}`, app.admin.token);
      assert.equal(got.status, 200);
      assert.deepEqual(got.body, client);
      const listed = await app.send('GET', '/oauth/clients', app.admin.token);
      assert.deepEqual(listed.body, { clients: [client], next_cursor: null });
      // The row holds the digest; no answer ever shows it, nor the secret again.
      const row = await app.db.kysely
        .selectFrom('oauth_clients')
        .select('secret_digest')
        .where('id', '=', String(client.id))
        .executeTakeFirstOrThrow();
      assert.equal(row.secret_digest, digestSecret(String(secret)));
      for (const answer of [got.body, listed.body]) {
        const text = JSON.stringify(answer);
        assert.ok(!text.includes(String(secret)) && !text.includes(row.secret_digest ?? '-'));
        assert.ok(!text.includes('client_secret') && !text.includes('digest'), text);
      }
    });

    it('registers public and machine clients; a public one has no secret', async (t) => {
      const app = await clientsTestApp(t, engine);
      const native = await app.register(NATIVE_CLIENT);
      assert.equal(native.status, 201, JSON.stringify(native.body));
      assert.ok(!('client_secret' in native.body));
      assert.equal(native.body.secret_rotated_at, null);
      assert.deepEqual(native.body.redirect_uris, NATIVE_CLIENT.redirect_uris);
      const machine = await app.register({
        ...MACHINE_CLIENT,
        first_party: true,
        tenant_choice: true,
        access_token_ttl_seconds: 60,
        refresh_token_ttl_seconds: 300,
      });
      assert.equal(machine.status, 201, JSON.stringify(machine.body));
      assert.equal(typeof machine.body.client_secret, 'string');
      assert.deepEqual(
        [machine.body.role, machine.body.first_party, machine.body.tenant_choice],
        ['service', true, true],
      );
      assert.deepEqual(machine.body.redirect_uris, []);
      assert.equal(machine.body.access_token_ttl_seconds, 60);
      const rotate = await app.send(
        'POST',
        `/oauth/clients/${native.body.id}/secret`,
        app.admin.token,
      );
      assert.equal(rotate.status, 409);
      assert.equal(rotate.body.code, 'oauth_client_public');
    });

    it('changes settings, keeping the rules, and answers the whole client', async (t) => {
      const app = await clientsTestApp(t, engine, { oauth: { access_token_ttl_seconds: 600 } });
      const created = await app.register(WEB_CLIENT);
      assert.equal(created.body.access_token_ttl_seconds, 600, 'the configured default');
      const url = `/oauth/clients/${created.body.id}`;
      const changes = {
        name: 'Acme web app',
        redirect_uris: ['https://app.acme.test/cb', 'http://localhost:3000/cb'],
        post_logout_redirect_uris: [],
        scopes: ['openid', 'events:read'],
        first_party: true,
        tenant_choice: true,
        access_token_ttl_seconds: 3600,
        refresh_token_ttl_seconds: 7_776_000,
      };
      const patched = await app.send('PATCH', url, app.admin.token, changes);
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      assert.deepEqual({ ...patched.body, ...changes }, patched.body);
      assert.equal(patched.body.type, 'confidential');
      assert.equal(patched.body.secret_rotated_at, created.body.secret_rotated_at);
      assert.deepEqual((await app.send('GET', url, app.admin.token)).body, patched.body);

      for (const [body, code] of [
        [{}, 'validation_failed'],
        [{ type: 'public' }, 'validation_failed'],
        [{ grant_types: ['client_credentials'] }, 'validation_failed'],
        [{ redirect_uris: [] }, 'invalid_client_metadata'],
        [{ role: 'service' }, 'invalid_client_metadata'],
      ] as const) {
        const refused = await app.send('PATCH', url, app.admin.token, body);
        assert.equal(refused.status, 400, JSON.stringify(body));
        assert.equal(refused.body.code, code, JSON.stringify(body));
      }
      assert.deepEqual((await app.send('GET', url, app.admin.token)).body, patched.body);
      const missing = await app.send('PATCH', '/oauth/clients/tc_nobody', app.admin.token, {
        name: 'x',
      });
      assert.equal(missing.status, 404);
      assert.equal(missing.body.code, 'oauth_client_not_found');
    });

    it('rotates a secret (shown once) and deletes a client', async (t) => {
      const app = await clientsTestApp(t, engine);
      const created = await app.register(MACHINE_CLIENT);
      const url = `/oauth/clients/${created.body.id}`;
      const rotated = await app.send('POST', `${url}/secret`, app.admin.token);
      assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
      assert.match(String(rotated.body.client_secret), /^tcs_/);
      assert.notEqual(rotated.body.client_secret, created.body.client_secret);
      assert.equal(rotated.body.id, created.body.id);
      const fetched = await app.send('GET', url, app.admin.token);
      assert.ok(!('client_secret' in fetched.body));
      assert.equal(fetched.body.secret_rotated_at, rotated.body.secret_rotated_at);

      assert.equal((await app.send('DELETE', url, app.admin.token)).status, 204);
      for (const [method, path] of [
        ['GET', url],
        ['DELETE', url],
        ['POST', `${url}/secret`],
      ] as const) {
        const gone = await app.send(method, path, app.admin.token);
        assert.equal(gone.status, 404, `${method} ${path}`);
        assert.equal(gone.body.code, 'oauth_client_not_found');
      }
      assert.deepEqual((await app.send('GET', '/oauth/clients', app.admin.token)).body.clients, []);
    });

    it('pages the listing by id', async (t) => {
      const app = await clientsTestApp(t, engine);
      for (const name of ['one', 'two', 'three']) {
        assert.equal((await app.register({ ...WEB_CLIENT, name })).status, 201);
      }
      const seen: string[] = [];
      let after = '';
      for (;;) {
        const page = await app.send('GET', `/oauth/clients?limit=2${after}`, app.admin.token);
        const clients = page.body.clients as Json[];
        seen.push(...clients.map((client) => String(client.id)));
        if (page.body.next_cursor === null) break;
        after = `&after=${page.body.next_cursor}`;
      }
      assert.equal(seen.length, 3);
      assert.deepEqual(seen, [...seen].sort());
    });

    it('needs clients:manage for every route', async (t) => {
      const app = await clientsTestApp(t, engine);
      const created = await app.register(WEB_CLIENT);
      const url = `/oauth/clients/${created.body.id}`;
      const developer = await app.member('acme', 'dev@acme.test', ['developer']);
      for (const [method, path, body] of [
        ['POST', '/oauth/clients', WEB_CLIENT],
        ['GET', '/oauth/clients', undefined],
        ['GET', url, undefined],
        ['PATCH', url, { name: 'mine' }],
        ['POST', `${url}/secret`, undefined],
        ['DELETE', url, undefined],
      ] as const) {
        const denied = await app.send(method, path, developer.token, body);
        assert.equal(denied.status, 403, `${method} ${path}`);
        assert.equal(denied.body.code, 'permission_denied');
        assert.equal(denied.body.permission, 'clients:manage');
      }
      // A custom role granting clients:manage is enough.
      const admin = await app.keyFor('acme');
      const role = { name: 'integrator', permissions: ['clients:manage', 'events:read'] };
      assert.equal((await app.send('POST', '/roles', admin, role)).status, 201);
      const ivy = await app.member('acme', 'ivy@acme.test', ['integrator']);
      assert.equal((await app.send('GET', url, ivy.token)).status, 200);
    });

    it("never shows another tenant's client: 404 as if it did not exist, and it is unchanged", async (t) => {
      const app = await clientsTestApp(t, engine);
      const acme = await app.register(MACHINE_CLIENT);
      const url = `/oauth/clients/${acme.body.id}`;
      const globex = await app.member('globex', 'gus@globex.test', ['admin']);
      for (const [method, path, body] of [
        ['GET', url, undefined],
        ['PATCH', url, { name: 'taken over' }],
        ['POST', `${url}/secret`, undefined],
        ['DELETE', url, undefined],
      ] as const) {
        const hidden = await app.send(method, path, globex.token, body);
        assert.equal(hidden.status, 404, `${method} ${path}`);
        assert.equal(hidden.body.code, 'oauth_client_not_found');
      }
      const listed = await app.send('GET', '/oauth/clients', globex.token);
      assert.deepEqual(listed.body.clients, []);
      const { client_secret: _secret, ...unchanged } = acme.body;
      assert.deepEqual((await app.send('GET', url, app.admin.token)).body, unchanged);
      // Its own clients are its tenant's, whatever the request says.
      const theirs = await app.register(WEB_CLIENT, globex.token);
      assert.equal(theirs.body.tenant_id, 'globex');
      const acmeList = await app.send('GET', '/oauth/clients', app.admin.token);
      assert.deepEqual(
        (acmeList.body.clients as Json[]).map((client) => client.id),
        [acme.body.id],
      );
    });
  });
}
