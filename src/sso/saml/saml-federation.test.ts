import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { inflateRawSync } from 'node:zlib';
import {
  assertRefused,
  CLOCK_SKEW_MS,
  SP_BASE_URL,
  signInThroughIdp,
  startSamlSetup,
} from '../../../test/helpers/saml-federation-fixture.ts';
import { NAMEID_PERSISTENT, samlTestCertificate } from '../../../test/helpers/saml-idp.ts';
import {
  openTestDatabase,
  type TestDatabase,
  testEngines,
} from '../../../test/helpers/test-database.ts';
import { MIGRATIONS } from '../../migrations/index.ts';
import { migrateToLatest } from '../../storage/migrate.ts';
import {
  type AssertionReplayStore,
  createAssertionReplayStore,
} from '../assertion-replay-store.ts';
import { samlAcsUrl, samlEntityId, samlMetadataUrl } from './saml-federation.ts';

describe('SAML SP URLs', () => {
  it('derives the entity id, ACS and metadata URLs from the base URL and connection id', () => {
    assert.equal(
      samlEntityId('http://127.0.0.1:8080/', 'sso_1'),
      'http://127.0.0.1:8080/sso/saml/sso_1',
    );
    assert.equal(
      samlAcsUrl('http://127.0.0.1:8080', 'sso_1'),
      'http://127.0.0.1:8080/sso/saml/sso_1/acs',
    );
    assert.equal(
      samlMetadataUrl('http://127.0.0.1:8080', 'sso_1'),
      'http://127.0.0.1:8080/sso/saml/sso_1/metadata',
    );
  });
});

for (const engine of testEngines()) {
  describe(`SAML sign-in accepted (${engine})`, () => {
    let test: TestDatabase;
    let replay: AssertionReplayStore;
    before(async () => {
      test = await openTestDatabase(engine);
      await migrateToLatest(test.db, MIGRATIONS);
      replay = createAssertionReplayStore(test.db.kysely);
    });
    after(() => test.cleanup());

    it('goes through the IdP: AuthnRequest over HTTP-Redirect, signed assertion back, identity mapped', async (t) => {
      const setup = await startSamlSetup(t, replay);
      const { requestId, form, action } = await signInThroughIdp(setup, 'relay-123');
      const [seen] = setup.idp.requests;
      assert.deepEqual(seen, {
        id: requestId,
        issuer: samlEntityId(SP_BASE_URL, setup.connection.id),
        acsUrl: samlAcsUrl(SP_BASE_URL, setup.connection.id),
        relayState: 'relay-123',
      });
      assert.equal(action, samlAcsUrl(SP_BASE_URL, setup.connection.id));
      assert.equal(form.RelayState, 'relay-123');
      const signIn = await setup.federation.complete(setup.connection, form, requestId);
      assert.equal(signIn.subject, 'ada@example.test');
      assert.equal(signIn.email, 'ada@example.test');
      assert.equal(signIn.emailVerified, true);
      assert.equal(signIn.name, 'Ada Lovelace');
      assert.deepEqual(signIn.groups, ['engineering']);
      assert.deepEqual(signIn.amr, []);
      assert.equal(signIn.inResponseTo, requestId);
      assert.match(signIn.assertionId, /^_[0-9a-f]{32}$/);
      assert.equal(signIn.claims.nameID, 'ada@example.test');
      assert.equal(signIn.claims.issuer, setup.idp.entityId);
      assert.equal(
        signIn.claims.authnContextClassRef,
        'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport',
      );
      assert.equal(typeof signIn.claims.sessionIndex, 'string');
    });

    it('sends an AuthnRequest to the SSO URL that asks for no NameID format and no authn context', async (t) => {
      const setup = await startSamlSetup(t, replay);
      const { url, requestId } = await setup.federation.begin(setup.connection, 'state');
      const parsed = new URL(url);
      assert.equal(`${parsed.origin}${parsed.pathname}`, setup.idp.ssoUrl);
      assert.equal(parsed.searchParams.get('RelayState'), 'state');
      const request = inflateRawSync(
        Buffer.from(parsed.searchParams.get('SAMLRequest') ?? '', 'base64'),
      ).toString();
      assert.match(request, new RegExp(`ID="${requestId}"`));
      assert.match(request, new RegExp(`Destination="${setup.idp.ssoUrl}"`));
      // The IdP picks the NameID format and the way people authenticate.
      assert.doesNotMatch(request, /NameIDPolicy[^>]* Format=|RequestedAuthnContext/);
    });

    it('accepts a response signed as a whole when the connection asks for that', async (t) => {
      const setup = await startSamlSetup(t, replay, {
        settings: { want_assertions_signed: false },
      });
      setup.idp.sign = 'response';
      const { requestId, form } = await signInThroughIdp(setup, 'r');
      const signIn = await setup.federation.complete(setup.connection, form, requestId);
      assert.equal(signIn.subject, 'ada@example.test');
    });

    it('accepts a response with both signed, whichever the connection asks for', async (t) => {
      for (const wantAssertionsSigned of [true, false]) {
        const setup = await startSamlSetup(t, replay, {
          settings: { want_assertions_signed: wantAssertionsSigned },
        });
        setup.idp.sign = 'both';
        const { requestId, form } = await signInThroughIdp(setup, 'r');
        const signIn = await setup.federation.complete(setup.connection, form, requestId);
        assert.equal(
          signIn.subject,
          'ada@example.test',
          `want_assertions_signed ${wantAssertionsSigned}`,
        );
      }
    });

    it('refuses a response-only signature when the connection wants signed assertions', async (t) => {
      const setup = await startSamlSetup(t, replay);
      setup.idp.sign = 'response';
      const { requestId, form } = await signInThroughIdp(setup, 'r');
      await assertRefused(
        setup.federation.complete(setup.connection, form, requestId),
        'signature_invalid',
      );
    });

    it('accepts an IdP-initiated response when the connection allows it', async (t) => {
      const setup = await startSamlSetup(t, replay, { idpInitiated: true });
      const signIn = await setup.federation.complete(
        setup.connection,
        { SAMLResponse: setup.idp.buildResponse({ sign: 'assertion' }) },
        null,
      );
      assert.equal(signIn.subject, 'ada@example.test');
      assert.equal(signIn.inResponseTo, null);
    });

    it('reads a multi-valued groups attribute as an array, single values as one-element arrays', async (t) => {
      const setup = await startSamlSetup(t, replay, { idpInitiated: true });
      const attributes = {
        email: ' Grace@Example.TEST ',
        name: 'Grace Hopper',
        groups: ['navy', 'cobol', 'compilers'],
      };
      const signIn = await setup.federation.complete(
        setup.connection,
        {
          SAMLResponse: setup.idp.buildResponse({
            sign: 'assertion',
            nameId: 'g-42',
            nameIdFormat: NAMEID_PERSISTENT,
            attributes,
          }),
        },
        null,
      );
      assert.equal(signIn.subject, 'g-42');
      assert.equal(signIn.email, 'grace@example.test');
      assert.deepEqual(signIn.groups, ['navy', 'cobol', 'compilers']);
      assert.deepEqual(signIn.claims.groups, ['navy', 'cobol', 'compilers']);
      assert.equal(signIn.claims.nameIDFormat, NAMEID_PERSISTENT);
    });

    it('takes the email from an emailAddress NameID when no attribute carries one; none from a persistent one', async (t) => {
      const setup = await startSamlSetup(t, replay, { idpInitiated: true });
      const fromNameId = await setup.federation.complete(
        setup.connection,
        {
          SAMLResponse: setup.idp.buildResponse({
            sign: 'assertion',
            nameId: 'Linus@Example.test',
            attributes: {},
          }),
        },
        null,
      );
      assert.equal(fromNameId.email, 'linus@example.test');
      assert.deepEqual(fromNameId.groups, []);
      assert.equal(fromNameId.name, undefined);
      const none = await setup.federation.complete(
        setup.connection,
        {
          SAMLResponse: setup.idp.buildResponse({
            sign: 'assertion',
            nameId: 'opaque-1',
            nameIdFormat: NAMEID_PERSISTENT,
            attributes: { name: 'Opaque' },
          }),
        },
        null,
      );
      assert.equal(none.email, undefined);
      assert.equal(none.emailVerified, false);
    });

    it('counts the email as verified only on a trusted connection', async (t) => {
      const setup = await startSamlSetup(t, replay, { trusted: false });
      const { requestId, form } = await signInThroughIdp(setup, 'r');
      const signIn = await setup.federation.complete(setup.connection, form, requestId);
      assert.equal(signIn.email, 'ada@example.test');
      assert.equal(signIn.emailVerified, false);
    });

    it("keeps the protocol claims out of the attributes' reach", async (t) => {
      const setup = await startSamlSetup(t, replay, { idpInitiated: true });
      const signIn = await setup.federation.complete(
        setup.connection,
        {
          SAMLResponse: setup.idp.buildResponse({
            sign: 'assertion',
            attributes: { issuer: 'https://forged.test', nameID: 'x' },
          }),
        },
        null,
      );
      assert.equal(signIn.claims.issuer, setup.idp.entityId);
      assert.equal(signIn.claims.nameID, 'ada@example.test');
    });

    it('accepts a rotated key: any certificate of the list may sign; a key not listed may not', async (t) => {
      const rotating = await startSamlSetup(t, replay, {
        idpInitiated: true,
        settings: { certificates: [samlTestCertificate('idp'), samlTestCertificate('rotated')] },
      });
      const signIn = await rotating.federation.complete(
        rotating.connection,
        { SAMLResponse: rotating.idp.buildResponse({ sign: 'assertion', key: 'rotated' }) },
        null,
      );
      assert.equal(signIn.subject, 'ada@example.test');
      const notYet = await startSamlSetup(t, replay, { idpInitiated: true });
      await assertRefused(
        notYet.federation.complete(
          notYet.connection,
          { SAMLResponse: notYet.idp.buildResponse({ sign: 'assertion', key: 'rotated' }) },
          null,
        ),
        'signature_invalid',
      );
    });

    it('accepts an assertion that expired less than the clock skew ago', async (t) => {
      const setup = await startSamlSetup(t, replay, { idpInitiated: true });
      const signIn = await setup.federation.complete(
        setup.connection,
        {
          SAMLResponse: setup.idp.buildResponse({
            sign: 'assertion',
            notBefore: new Date(Date.now() - 600_000),
            notOnOrAfter: new Date(Date.now() - 20_000),
          }),
        },
        null,
      );
      assert.equal(signIn.subject, 'ada@example.test');
    });

    it('keeps the assertion id in the replay cache until its NotOnOrAfter plus the clock skew', async (t) => {
      const claims: { connectionId: string; assertionId: string; expiresMs: number }[] = [];
      const recording = {
        claim: (connectionId: string, assertionId: string, expiresMs: number) => {
          claims.push({ connectionId, assertionId, expiresMs });
          return replay.claim(connectionId, assertionId, expiresMs);
        },
      };
      const setup = await startSamlSetup(t, recording, { idpInitiated: true });
      const notOnOrAfter = new Date(Date.now() + 300_000);
      const signIn = await setup.federation.complete(
        setup.connection,
        { SAMLResponse: setup.idp.buildResponse({ sign: 'assertion', notOnOrAfter }) },
        null,
      );
      assert.deepEqual(claims, [
        {
          connectionId: setup.connection.id,
          assertionId: signIn.assertionId,
          expiresMs: notOnOrAfter.getTime() + CLOCK_SKEW_MS,
        },
      ]);
    });

    it('publishes SP metadata: entity id, ACS with the POST binding, WantAssertionsSigned', async (t) => {
      const setup = await startSamlSetup(t, replay);
      const metadata = setup.federation.metadata(setup.connection);
      assert.match(
        metadata,
        new RegExp(`entityID="${samlEntityId(SP_BASE_URL, setup.connection.id)}"`),
      );
      assert.match(metadata, /<SPSSODescriptor [^>]*WantAssertionsSigned="true"/);
      assert.match(
        metadata,
        new RegExp(
          `<AssertionConsumerService [^>]*Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${samlAcsUrl(SP_BASE_URL, setup.connection.id)}"`,
        ),
      );
    });
  });
}
