import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { apiKeyFor } from '../../../test/helpers/auth.ts';
import { type OidcIdp, startOidcIdp } from '../../../test/helpers/oidc-idp.ts';
import { BASE, type SsoWorld, ssoWorld } from '../../../test/helpers/sso-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';
import type { Engine } from '../../storage/database.ts';

const CLIENT = { client_id: 'tessera', client_secret: 'a-client-secret' };

async function setup(t: TestContext, engine: Engine) {
  const idp = await startOidcIdp({
    clients: [{ ...CLIENT, redirect_uris: [`${BASE}/sso/oidc/*`] }],
  });
  t.after(() => idp.close());
  return { idp, sso: await ssoWorld(t, engine, { sso: { max_connections_per_tenant: 2 } }) };
}

const oidcBody = (idp: OidcIdp, extra: object = {}) => ({
  type: 'oidc',
  name: 'Okta',
  oidc: { issuer: idp.issuer, ...CLIENT },
  ...extra,
});

async function count(sso: SsoWorld): Promise<number> {
  return (await sso.test.db.kysely.selectFrom('sso_connections').selectAll().execute()).length;
}

for (const engine of testEngines()) {
  describe(`/api/v1/sso/connections (${engine})`, () => {
    it('creates, lists, changes, disables and deletes a connection, each audited', async (t) => {
      const { idp, sso } = await setup(t, engine);
      const created = await sso.api('POST', '/api/v1/sso/connections', {
        body: oidcBody(idp, { domains: ['Acme.Example'] }),
      });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      const id = created.json.id as string;
      assert.match(id, /^sc_/);
      assert.deepEqual(created.json.domains, ['acme.example']);
      assert.equal(created.json.mapping.jit, true);
      assert.deepEqual(created.json.mapping.default_roles, ['viewer']);
      assert.equal(created.json.start_url, `${BASE}/sso/${id}/start`);

      const list = await sso.api('GET', '/api/v1/sso/connections?limit=10');
      assert.deepEqual(
        list.json.connections.map((c: { id: string }) => c.id),
        [id],
      );
      const renamed = await sso.api('PATCH', `/api/v1/sso/connections/${id}`, {
        body: { name: 'Okta (staff)', enabled: false, domains: [] },
      });
      assert.equal(renamed.status, 200, JSON.stringify(renamed.json));
      assert.equal(renamed.json.enabled, false);
      assert.deepEqual(renamed.json.domains, []);
      // A changed secret is stored sealed; the answer never shows one.
      const secret = await sso.api('PATCH', `/api/v1/sso/connections/${id}`, {
        body: { oidc: { issuer: idp.issuer, client_id: 'tessera', client_secret: 'rotated' } },
      });
      assert.equal(secret.status, 200, JSON.stringify(secret.json));
      assert.doesNotMatch(JSON.stringify(secret.json), /rotated|a-client-secret/);

      assert.equal((await sso.api('DELETE', `/api/v1/sso/connections/${id}`)).status, 204);
      assert.equal((await sso.api('GET', `/api/v1/sso/connections/${id}`)).status, 404);
      const audit = await sso.api(
        'GET',
        '/api/v1/audit?order=asc&action=sso.connection_created&action=sso.connection_updated&action=sso.connection_deleted',
      );
      assert.equal(audit.status, 200, JSON.stringify(audit.json));
      assert.deepEqual(
        audit.json.events.map((event: { event_type: string }) => event.event_type),
        [
          'sso.connection_created',
          'sso.connection_updated',
          'sso.connection_updated',
          'sso.connection_deleted',
        ],
      );
      const trail = JSON.stringify(audit.json);
      assert.doesNotMatch(trail, /a-client-secret|rotated/);
    });

    it('refuses bad settings with a 400 naming the field, and changes nothing', async (t) => {
      const { idp, sso } = await setup(t, engine);
      const cases: [object, string, string][] = [
        [{ type: 'oidc', name: 'x' }, 'invalid_sso_connection', '/oidc'],
        [
          { type: 'oidc', name: 'x', oidc: { issuer: idp.issuer, client_id: 'tessera' } },
          'invalid_sso_connection',
          '/oidc/client_secret',
        ],
        [oidcBody(idp, { domains: ['not a domain'] }), 'invalid_sso_connection', '/domains/0'],
        [
          oidcBody(idp, { mapping: { groups: [{ group: 'a', teams: ['no-such-team'] }] } }),
          'invalid_sso_connection',
          '/mapping/groups/0/teams',
        ],
        [oidcBody(idp, { mapping: { default_roles: ['no-such-role'] } }), 'invalid_roles', ''],
        [
          {
            type: 'saml',
            name: 'x',
            saml: { idp_entity_id: 'e', sso_url: 'https://idp/sso', certificates: ['nope'] },
          },
          'invalid_sso_connection',
          '/saml/certificates/0',
        ],
        [
          { type: 'oidc', name: 'x', oidc: { issuer: `${idp.issuer}/elsewhere`, ...CLIENT } },
          'sso_discovery_failed',
          '',
        ],
      ];
      for (const [body, code, path] of cases) {
        const refused = await sso.api('POST', '/api/v1/sso/connections', { body });
        assert.equal(refused.json?.code, code, JSON.stringify({ body, answer: refused.json }));
        assert.ok(refused.status >= 400 && refused.status < 500);
        if (path) assert.equal(refused.json.errors?.[0]?.path, path, JSON.stringify(refused.json));
      }
      assert.equal(await count(sso), 0);
    });

    it('keeps an email domain to one connection, across tenants', async (t) => {
      const { idp, sso } = await setup(t, engine);
      const first = await sso.api('POST', '/api/v1/sso/connections', {
        body: oidcBody(idp, { domains: ['acme.example'] }),
      });
      assert.equal(first.status, 201);
      const taken = await sso.api('POST', '/api/v1/sso/connections', {
        tenant: 'beta',
        body: oidcBody(idp, { domains: ['acme.example'] }),
      });
      assert.equal(taken.status, 409);
      assert.equal(taken.json.code, 'sso_domain_taken');
      assert.equal(await count(sso), 1);
    });

    it('stops at sso.max_connections_per_tenant', async (t) => {
      const { idp, sso } = await setup(t, engine);
      for (let i = 0; i < 2; i += 1) {
        assert.equal(
          (await sso.api('POST', '/api/v1/sso/connections', { body: oidcBody(idp) })).status,
          201,
        );
      }
      const over = await sso.api('POST', '/api/v1/sso/connections', { body: oidcBody(idp) });
      assert.equal(over.status, 409);
      assert.equal(over.json.code, 'sso_connection_limit_reached');
      // Another tenant has its own allowance.
      assert.equal(
        (await sso.api('POST', '/api/v1/sso/connections', { tenant: 'beta', body: oidcBody(idp) }))
          .status,
        201,
      );
    });

    it('keeps each tenant’s connections its own, and needs an admin to change them', async (t) => {
      const { idp, sso } = await setup(t, engine);
      const created = await sso.api('POST', '/api/v1/sso/connections', { body: oidcBody(idp) });
      const id = created.json.id as string;
      const beta = { tenant: 'beta' };
      assert.equal((await sso.api('GET', `/api/v1/sso/connections/${id}`, beta)).status, 404);
      assert.equal(
        (
          await sso.api('PATCH', `/api/v1/sso/connections/${id}`, {
            ...beta,
            body: { enabled: false },
          })
        ).status,
        404,
      );
      assert.equal((await sso.api('DELETE', `/api/v1/sso/connections/${id}`, beta)).status, 404);
      assert.equal((await sso.api('POST', `/api/v1/sso/connections/${id}/test`, beta)).status, 404);
      const listed = await sso.api('GET', '/api/v1/sso/connections?limit=10', beta);
      assert.deepEqual(listed.json.connections, []);

      const developer = await apiKeyFor(sso.test.services, 'acme', 'developer');
      const denied = await sso.api('GET', '/api/v1/sso/connections?limit=10', { key: developer });
      assert.equal(denied.status, 403);
      // A custom role holding sso:manage but not every permission of the tenant may look,
      // not add: a connection can sign anyone in as any member.
      await sso.api('POST', '/api/v1/roles', {
        body: { name: 'sso-viewer', permissions: ['sso:manage'] },
      });
      const partial = await apiKeyFor(sso.test.services, 'acme', 'sso-viewer');
      assert.equal(
        (await sso.api('GET', `/api/v1/sso/connections/${id}`, { key: partial })).status,
        200,
      );
      const escalation = await sso.api('POST', '/api/v1/sso/connections', {
        key: partial,
        body: oidcBody(idp),
      });
      assert.equal(escalation.status, 403, JSON.stringify(escalation.json));
      assert.equal(escalation.json.code, 'role_not_delegable');
      assert.equal(await count(sso), 1);
    });
  });
}
