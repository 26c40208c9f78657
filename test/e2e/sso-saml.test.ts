import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DOMParser } from '@xmldom/xmldom';
import { NAMEID_EMAIL } from '../helpers/saml-idp.ts';
import { APP_URL, BASE, fragmentOf } from '../helpers/sso-fixture.ts';
import { me } from '../helpers/sso-oidc-flow.ts';
import {
  assertNobodySignedIn,
  assertRefused,
  atIdp,
  begin,
  claimsOf,
  connectSaml,
  patchConnection,
  post,
  type SamlWorld,
  samlSignIn,
  samlWorld,
} from '../helpers/sso-saml-flow.ts';
import { testEngines } from '../helpers/test-database.ts';

const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';

function person(email: string, groups: string[] = []) {
  return {
    nameId: email,
    nameIdFormat: NAMEID_EMAIL,
    attributes: { email, name: email.split('@')[0] as string, groups },
  };
}

for (const engine of testEngines()) {
  describe(`SSO through SAML 2.0 (${engine})`, () => {
    let world: SamlWorld;
    before(async () => {
      world = await samlWorld(engine);
    });
    after(() => world.close());

    it('signs a person in through a connection made from IdP metadata: the mapped role, fed, audited', async () => {
      const { idp, sso } = world;
      const connection = await connectSaml(sso, idp, 'acme', { from: 'metadata' });
      assert.equal(connection.saml.idp_entity_id, idp.entityId);
      assert.equal(connection.saml.sso_url, idp.ssoUrl);
      assert.equal(connection.saml.sp_entity_id, `${BASE}/sso/saml/${connection.id}`);
      assert.equal(connection.saml.acs_url, `${BASE}/sso/saml/${connection.id}/acs`);

      idp.user = person('Ada@Acme.example', ['engineering']);
      const jar = new Map<string, string>();
      const { begun, form, done } = await samlSignIn(sso, idp, connection.id, jar);
      assert.ok(jar.has('tessera_sso'));
      // The AuthnRequest names this connection's SP and ACS; the IdP answered its ID.
      assert.equal(begun.request.issuer, connection.saml.sp_entity_id);
      assert.equal(begun.request.acsUrl, connection.saml.acs_url);
      assert.equal(idp.requests.at(-1)?.id, begun.request.id);
      assert.equal(form.action, connection.saml.acs_url);
      assert.equal(form.RelayState, begun.relayState);
      const xml = Buffer.from(form.SAMLResponse, 'base64').toString('utf8');
      assert.ok(xml.includes(`InResponseTo="${begun.request.id}"`));

      assert.equal(done.status, 303, done.body);
      assert.ok(done.location.startsWith(`${APP_URL}#`), done.location);
      const tokens = fragmentOf(done.location);
      assert.equal(tokens.get('tenant_id'), 'acme');
      const accessToken = tokens.get('access_token') as string;
      const who = await me(sso, accessToken);
      assert.equal(who.status, 200, JSON.stringify(who.json));
      assert.equal(who.json.user.email, 'ada@acme.example');
      assert.equal(who.json.tenant_id, 'acme');
      assert.deepEqual(who.json.roles, ['developer']);
      assert.ok((claimsOf(accessToken).amr as string[]).includes('fed'));

      const audit = await sso.api('GET', '/api/v1/audit?action=sso.login');
      assert.equal(audit.status, 200, JSON.stringify(audit.json));
      assert.equal(audit.json.events.length, 1);
      const { details } = audit.json.events[0].payload;
      assert.equal(details.connection_id, connection.id);
      assert.equal(details.type, 'saml');
      assert.equal(details.subject, 'Ada@Acme.example');
      assert.equal(details.created, true);
      const links = await sso.test.db.kysely
        .selectFrom('sso_identities')
        .selectAll()
        .where('connection_id', '=', connection.id)
        .execute();
      assert.deepEqual(
        links.map((link) => link.user_id),
        [who.json.user.id],
      );
    });

    it('signs in through a connection made from entity id, SSO URL and certificate, and serves its SP metadata', async () => {
      const { idp, sso } = world;
      const connection = await connectSaml(sso, idp, 'fields', { from: 'fields' });
      idp.user = person('grace@fields.example');
      const { done } = await samlSignIn(sso, idp, connection.id);
      assert.equal(done.status, 303, done.body);
      const who = await me(sso, fragmentOf(done.location).get('access_token') as string);
      assert.equal(who.json.user.email, 'grace@fields.example');
      assert.deepEqual(who.json.roles, ['viewer']);

      const metadata = await sso.test.app.inject({
        url: `/sso/saml/${connection.id}/metadata`,
      });
      assert.equal(metadata.statusCode, 200);
      assert.match(String(metadata.headers['content-type']), /^application\/samlmetadata\+xml/);
      const errors: string[] = [];
      const root = new DOMParser({
        onError: (level, message) => {
          if (level !== 'warning') errors.push(message);
        },
      }).parseFromString(metadata.body, 'text/xml').documentElement;
      assert.deepEqual(errors, []);
      assert.equal(root?.namespaceURI, MD);
      assert.equal(root?.localName, 'EntityDescriptor');
      assert.equal(root?.getAttribute('entityID'), connection.saml.sp_entity_id);
      const acs = root?.getElementsByTagNameNS(MD, 'AssertionConsumerService')[0];
      assert.equal(acs?.getAttribute('Location'), connection.saml.acs_url);
      assert.equal(acs?.getAttribute('Binding'), 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST');
      const unknown = await sso.test.app.inject({ url: '/sso/saml/sso_nope/metadata' });
      assert.equal(unknown.statusCode, 404);
    });

    it('refuses an unsolicited response unless the connection accepts IdP-initiated sign-in', async () => {
      const { idp, sso } = world;
      const connection = await connectSaml(sso, idp, 'unsolicited');
      assert.equal(connection.idp_initiated, false);
      idp.user = person('ida@unsolicited.example', ['engineering']);
      const sp = { entityId: connection.saml.sp_entity_id, acsUrl: connection.saml.acs_url };
      const unsolicited = () => ({
        action: connection.saml.acs_url,
        SAMLResponse: idp.buildResponse({ sp, sign: 'assertion' }),
      });
      const jar = new Map<string, string>();
      const refused = await post(sso, unsolicited(), jar);
      await assertRefused(
        sso,
        'unsolicited',
        refused,
        'sso_response_invalid',
        'unsolicited_response',
      );
      await assertNobodySignedIn(sso, 'unsolicited', connection.id, ['ida@unsolicited.example']);

      await patchConnection(sso, 'unsolicited', connection.id, { idp_initiated: true });
      const form = unsolicited();
      const accepted = await post(sso, form, jar);
      // No request to come back to: signed in at once, sent to the tenant's redirect URI.
      assert.equal(accepted.status, 303, accepted.body);
      assert.ok(accepted.location.startsWith(`${APP_URL}#`), accepted.location);
      const tokens = fragmentOf(accepted.location);
      const who = await me(sso, tokens.get('access_token') as string);
      assert.equal(who.json.user.email, 'ida@unsolicited.example');
      assert.deepEqual(who.json.roles, ['developer']);
      assert.ok((claimsOf(tokens.get('access_token') as string).amr as string[]).includes('fed'));

      // The same response once more: its assertion was used.
      const replayed = await post(sso, form, jar);
      await assertRefused(sso, 'unsolicited', replayed, 'sso_response_invalid', 'replayed');
      // node-saml checks no confirmation time on an unsolicited answer; Tessera does.
      const now = Date.now();
      const expired = await post(
        sso,
        {
          action: connection.saml.acs_url,
          SAMLResponse: idp.buildResponse({
            sp,
            sign: 'assertion',
            notBefore: new Date(now - 30 * 60_000),
            notOnOrAfter: new Date(now - 10 * 60_000),
          }),
        },
        jar,
      );
      await assertRefused(sso, 'unsolicited', expired, 'sso_response_invalid', 'expired');
      // A RelayState that is no redirect URI of the tenant never chooses where tokens go.
      const elsewhere = await post(
        sso,
        { ...unsolicited(), RelayState: 'https://attacker.example/steal' },
        jar,
      );
      assert.equal(elsewhere.status, 303, elsewhere.body);
      assert.ok(elsewhere.location.startsWith(`${APP_URL}#`), elsewhere.location);
      // Nor does an unsolicited answer for an SP-initiated one.
      const begun = await begin(sso, idp, connection.id, jar);
      const late = await post(sso, { ...unsolicited(), RelayState: begun.relayState }, jar);
      await assertRefused(sso, 'unsolicited', late, 'sso_response_invalid', 'unsolicited_response');
    });

    it('links an existing member by email only through a trusted connection, never an account of another tenant', async () => {
      const { idp, sso } = world;
      const connection = await connectSaml(sso, idp, 'linking');
      assert.equal(connection.trusted, false);
      await sso.adminKey('linking');
      const { users } = sso.test.services.identity;
      const { memberships } = sso.test.services.tenancy;
      const boss = await users.createUser({ email: 'boss@linking.example', name: 'Boss' });
      await memberships.grant('linking', boss.id, ['admin']);

      idp.user = person('boss@linking.example');
      const untrusted = await samlSignIn(sso, idp, connection.id);
      await assertRefused(
        sso,
        'linking',
        untrusted.done,
        'sso_email_not_verified',
        'email_not_verified',
      );
      await assertNobodySignedIn(sso, 'linking', connection.id);

      await patchConnection(sso, 'linking', connection.id, { trusted: true });
      const trusted = await samlSignIn(sso, idp, connection.id);
      assert.equal(trusted.done.status, 303, trusted.done.body);
      const who = await me(sso, fragmentOf(trusted.done.location).get('access_token') as string);
      assert.equal(who.json.user.id, boss.id);
      // The last admin keeps admin, whatever the mapping says.
      assert.ok(who.json.roles.includes('admin'));
      const linked = await sso.api('GET', '/api/v1/audit?action=sso.identity_linked', {
        tenant: 'linking',
      });
      assert.equal(linked.json.events.length, 1);

      // An account of another tenant only, with an address of this tenant's domain:
      // even a trusted connection may not take it over.
      await sso.adminKey('elsewhere');
      const outsider = await users.createUser({ email: 'spy@linking.example' });
      await memberships.grant('elsewhere', outsider.id, ['admin']);
      idp.user = person('spy@linking.example');
      const foreign = await samlSignIn(sso, idp, connection.id);
      await assertRefused(
        sso,
        'linking',
        foreign.done,
        'sso_account_not_linkable',
        'account_shared',
      );
      const outsiderSessions = await sso.test.db.kysely
        .selectFrom('sessions')
        .select('id')
        .where('user_id', '=', outsider.id)
        .execute();
      assert.deepEqual(outsiderSessions, []);
      const outsiderLinks = await sso.test.db.kysely
        .selectFrom('sso_identities')
        .select('user_id')
        .where('user_id', '=', outsider.id)
        .execute();
      assert.deepEqual(outsiderLinks, []);
    });

    it("tests a disabled connection for an admin: the IdP's answer and the roles, nobody signed in", async () => {
      const { idp, sso } = world;
      const connection = await connectSaml(sso, idp, 'trial', { extra: { enabled: false } });
      assert.equal(connection.enabled, false);
      // A sign-in through it is refused.
      const refused = await sso.browse(
        `/sso/${connection.id}/start?redirect_uri=${encodeURIComponent(APP_URL)}`,
      );
      await assertRefused(sso, 'trial', refused, 'sso_connection_disabled');

      const issued = await sso.api('POST', `/api/v1/sso/connections/${connection.id}/test`, {
        tenant: 'trial',
      });
      assert.equal(issued.status, 200, JSON.stringify(issued.json));
      assert.ok(issued.json.url.startsWith(`${BASE}/sso/${connection.id}/start?test=`));
      idp.user = person('tess@trial.example', ['engineering']);
      const jar = new Map<string, string>();
      const begun = await begin(sso, idp, connection.id, jar, issued.json.url);
      const back = await post(sso, await atIdp(begun.location), jar);
      assert.equal(back.status, 303, back.body);
      assert.match(back.location, /^\/sso\/complete\//);
      const report = await sso.browse(back.location, { jar });
      assert.equal(report.status, 200, report.body);
      assert.match(report.body, /id="sso-test-ok"/);
      assert.match(report.body, /<dd id="sso-test-subject">tess@trial\.example<\/dd>/);
      assert.match(report.body, /<dd id="sso-test-roles">developer<\/dd>/);
      assert.match(report.body, /\(not verified\)/);
      assert.equal(report.location, '');
      await assertNobodySignedIn(sso, 'trial', connection.id, ['tess@trial.example']);
      const tested = await sso.api('GET', '/api/v1/audit?action=sso.connection_tested', {
        tenant: 'trial',
      });
      assert.equal(tested.json.events.length, 1);

      // A forged or another connection's ticket starts nothing.
      const [, ticket] = issued.json.url.split('?test=');
      const other = await connectSaml(sso, idp, 'trial2');
      const stolen = await sso.browse(`/sso/${other.id}/start?test=${ticket}`);
      await assertRefused(sso, 'trial2', stolen, 'sso_request_invalid');
    });

    it('discovers the SAML connection of a claimed domain; an unknown domain answers the same shape, whoever has an account', async () => {
      const { idp, sso } = world;
      const connection = await connectSaml(sso, idp, 'disco');
      const discover = async (email: string) => {
        const response = await sso.test.app.inject({
          method: 'POST',
          url: '/api/v1/auth/sso/discover',
          payload: { email },
        });
        assert.equal(response.statusCode, 200, response.body);
        return response.json();
      };
      const found = await discover('Someone@DISCO.example');
      assert.deepEqual(found, {
        sso: true,
        connection_id: connection.id,
        connection_name: 'disco IdP',
        tenant_id: 'disco',
        start_url: `${BASE}/sso/${connection.id}/start`,
      });
      assert.equal(found.start_url, connection.start_url);
      // The start URL leads to the IdP with an AuthnRequest for this connection.
      const begun = await begin(
        sso,
        idp,
        connection.id,
        new Map(),
        `${found.start_url}?redirect_uri=${encodeURIComponent(APP_URL)}`,
      );
      assert.equal(begun.request.acsUrl, connection.saml.acs_url);

      // Whether an account exists changes nothing in either answer.
      await sso.adminKey('disco');
      const member = await sso.test.services.identity.users.createUser({
        email: 'member@disco.example',
      });
      await sso.test.services.tenancy.memberships.grant('disco', member.id, ['viewer']);
      assert.deepEqual(await discover('member@disco.example'), found);
      const known = await sso.test.services.identity.users.createUser({
        email: 'someone@unclaimed.example',
      });
      assert.ok(known.id);
      const none = {
        sso: false,
        connection_id: null,
        connection_name: null,
        tenant_id: null,
        start_url: null,
      };
      assert.deepEqual(await discover('someone@unclaimed.example'), none);
      assert.deepEqual(await discover('nobody@unclaimed.example'), none);
      assert.deepEqual(Object.keys(none).sort(), Object.keys(found).sort());
    });
  });
}
