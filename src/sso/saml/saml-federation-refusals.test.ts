import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import {
  assertRefused,
  CLOCK_SKEW_MS,
  type SamlSetupOptions,
  signInThroughIdp,
  startSamlSetup,
} from '../../../test/helpers/saml-federation-fixture.ts';
import type { BuildResponseOptions } from '../../../test/helpers/saml-idp.ts';
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
import { FederationRefused } from '../federated-identity.ts';
import { refusalFromLibrary } from './saml-refusals.ts';

describe('node-saml errors become refusals in one place', () => {
  it('maps the messages it knows and turns anything else into invalid_response', () => {
    assert.equal(
      refusalFromLibrary(new Error('SAML assertion expired: clocks skewed too much')).reason,
      'expired',
    );
    assert.equal(
      refusalFromLibrary(new Error('Invalid signature: multiple assertions')).reason,
      'signature_invalid',
    );
    const unknown = refusalFromLibrary(
      new TypeError("Cannot read properties of undefined (reading '0')"),
    );
    assert.ok(unknown instanceof FederationRefused);
    assert.equal(unknown.reason, 'invalid_response');
    assert.ok(unknown.cause instanceof TypeError);
    assert.equal(refusalFromLibrary('a thrown string').reason, 'invalid_response');
  });
});

for (const engine of testEngines()) {
  describe(`SAML answers refused (${engine})`, () => {
    let test: TestDatabase;
    let replay: AssertionReplayStore;
    before(async () => {
      test = await openTestDatabase(engine);
      await migrateToLatest(test.db, MIGRATIONS);
      replay = createAssertionReplayStore(test.db.kysely);
    });
    after(() => test.cleanup());

    /** Starts a sign-in (so a request id is expected) and presents a forged answer to it. */
    async function answer(
      t: TestContext,
      forge: (requestId: string) => BuildResponseOptions,
      options: SamlSetupOptions = {},
    ) {
      const setup = await startSamlSetup(t, replay, options);
      const { requestId } = await setup.federation.begin(setup.connection, 'relay');
      const SAMLResponse = setup.idp.buildResponse(forge(requestId));
      return setup.federation.complete(
        setup.connection,
        { SAMLResponse, RelayState: 'relay' },
        requestId,
      );
    }

    it('refuses an answer with neither assertion nor response signed, whatever the setting', async (t) => {
      for (const want_assertions_signed of [true, false])
        await assertRefused(
          answer(t, (inResponseTo) => ({ inResponseTo, sign: 'none' }), {
            settings: { want_assertions_signed },
          }),
          'signature_invalid',
        );
    });

    it("refuses an answer signed by another key (an attacker's IdP)", async (t) => {
      for (const sign of ['assertion', 'both'] as const)
        await assertRefused(
          answer(t, (inResponseTo) => ({ inResponseTo, sign, key: 'attacker' })),
          'signature_invalid',
        );
      await assertRefused(
        answer(t, (inResponseTo) => ({ inResponseTo, sign: 'response', key: 'attacker' }), {
          settings: { want_assertions_signed: false },
        }),
        'signature_invalid',
      );
    });

    it('never yields the unsigned subject of a wrapped response (XSW: evil assertion before, after, around)', async (t) => {
      for (const wrap of ['before', 'after', 'inside'] as const) {
        let outcome: unknown;
        try {
          outcome = await answer(t, (inResponseTo) => ({ inResponseTo, sign: 'assertion', wrap }));
        } catch (error) {
          outcome = error;
        }
        // Refused, or at most the signed subject: never the injected one.
        if (outcome instanceof FederationRefused)
          assert.equal(outcome.reason, 'signature_invalid', wrap);
        else assert.equal((outcome as { subject: string }).subject, 'ada@example.test', wrap);
        assert.doesNotMatch(JSON.stringify(outcome ?? null), /evil@attacker/, wrap);
      }
      // A whole signed response cannot take an extra assertion either.
      await assertRefused(
        answer(t, (inResponseTo) => ({ inResponseTo, sign: 'response', wrap: 'before' }), {
          settings: { want_assertions_signed: false },
        }),
        'signature_invalid',
      );
    });

    it('refuses an assertion for another audience', async (t) => {
      await assertRefused(
        answer(t, (inResponseTo) => ({
          inResponseTo,
          sign: 'assertion',
          audience: 'https://other-sp.test',
        })),
        'audience_mismatch',
      );
    });

    it('refuses an expired assertion and one not yet valid, beyond the clock skew', async (t) => {
      const now = Date.now();
      await assertRefused(
        answer(t, (inResponseTo) => ({
          inResponseTo,
          sign: 'assertion',
          notBefore: new Date(now - 600_000),
          notOnOrAfter: new Date(now - 2 * CLOCK_SKEW_MS),
        })),
        'expired',
      );
      await assertRefused(
        answer(t, (inResponseTo) => ({
          inResponseTo,
          sign: 'assertion',
          notBefore: new Date(now + 2 * CLOCK_SKEW_MS),
          notOnOrAfter: new Date(now + 600_000),
        })),
        'not_yet_valid',
      );
    });

    it('refuses an expired IdP-initiated assertion (node-saml checks no confirmation time there)', async (t) => {
      const setup = await startSamlSetup(t, replay, { idpInitiated: true });
      const now = Date.now();
      const SAMLResponse = setup.idp.buildResponse({
        sign: 'assertion',
        notBefore: new Date(now - 600_000),
        notOnOrAfter: new Date(now - 2 * CLOCK_SKEW_MS),
      });
      await assertRefused(
        setup.federation.complete(setup.connection, { SAMLResponse }, null),
        'expired',
      );
    });

    it('refuses an assertion presented twice, and another response reusing its id', async (t) => {
      const setup = await startSamlSetup(t, replay);
      const { requestId, form } = await signInThroughIdp(setup, 'relay');
      const first = await setup.federation.complete(setup.connection, form, requestId);
      await assertRefused(setup.federation.complete(setup.connection, form, requestId), 'replayed');
      const sameId = setup.idp.buildResponse({
        inResponseTo: requestId,
        sign: 'assertion',
        assertionId: first.assertionId,
      });
      await assertRefused(
        setup.federation.complete(setup.connection, { SAMLResponse: sameId }, requestId),
        'replayed',
      );
    });

    it('refuses an answer to another request, and one to any request when none was sent', async (t) => {
      const setup = await startSamlSetup(t, replay, { idpInitiated: true });
      const { requestId: first } = await setup.federation.begin(setup.connection, 'one');
      const { requestId: second } = await setup.federation.begin(setup.connection, 'two');
      const toFirst = setup.idp.buildResponse({ inResponseTo: first, sign: 'assertion' });
      await assertRefused(
        setup.federation.complete(setup.connection, { SAMLResponse: toFirst }, second),
        'in_response_to_mismatch',
      );
      await assertRefused(
        setup.federation.complete(setup.connection, { SAMLResponse: toFirst }, null),
        'in_response_to_mismatch',
      );
    });

    it('refuses an unsolicited answer when IdP-initiated sign-in is off, or when a request was sent', async (t) => {
      const setup = await startSamlSetup(t, replay);
      const unsolicited = setup.idp.buildResponse({ sign: 'assertion' });
      await assertRefused(
        setup.federation.complete(setup.connection, { SAMLResponse: unsolicited }, null),
        'unsolicited_response',
      );
      const { requestId } = await setup.federation.begin(setup.connection, 'relay');
      await assertRefused(
        setup.federation.complete(setup.connection, { SAMLResponse: unsolicited }, requestId),
        'unsolicited_response',
      );
    });

    it('refuses a wrong Recipient in the confirmation and a wrong Destination on the response', async (t) => {
      await assertRefused(
        answer(t, (inResponseTo) => ({
          inResponseTo,
          sign: 'assertion',
          recipient: 'https://other-sp.test/acs',
        })),
        'recipient_mismatch',
      );
      await assertRefused(
        answer(t, (inResponseTo) => ({
          inResponseTo,
          sign: 'assertion',
          destination: 'https://other-sp.test/acs',
        })),
        'destination_mismatch',
      );
    });

    it('refuses another Issuer, on the response and on the signed assertion alone', async (t) => {
      await assertRefused(
        answer(t, (inResponseTo) => ({
          inResponseTo,
          sign: 'assertion',
          issuer: 'https://other-idp.test',
        })),
        'issuer_mismatch',
      );
      // The envelope is unsigned: an attacker can make its Issuer right, not the assertion's.
      const setup = await startSamlSetup(t, replay);
      const { requestId } = await setup.federation.begin(setup.connection, 'relay');
      const forged = Buffer.from(
        setup.idp.buildResponse({
          inResponseTo: requestId,
          sign: 'assertion',
          issuer: 'https://other-idp.test',
        }),
        'base64',
      )
        .toString('utf8')
        .replace(
          '<saml:Issuer>https://other-idp.test</saml:Issuer>',
          `<saml:Issuer>${setup.idp.entityId}</saml:Issuer>`,
        );
      await assertRefused(
        setup.federation.complete(
          setup.connection,
          { SAMLResponse: Buffer.from(forged).toString('base64') },
          requestId,
        ),
        'issuer_mismatch',
      );
    });

    it('refuses a DTD before parsing: billion laughs and an external entity', async (t) => {
      for (const doctype of [true, 'xxe'] as const) {
        const refusal = await assertRefused(
          answer(t, (inResponseTo) => ({ inResponseTo, sign: 'assertion', doctype })),
          'malformed',
        );
        assert.match(refusal.message, /DTD/);
      }
    });

    it('refuses what is not a SAML Response', async (t) => {
      const setup = await startSamlSetup(t, replay, { idpInitiated: true });
      for (const xml of ['not xml at all <', '<html><body>hi</body></html>', ''])
        await assertRefused(
          setup.federation.complete(
            setup.connection,
            { SAMLResponse: Buffer.from(xml).toString('base64') },
            null,
          ),
          'malformed',
        );
    });

    it('refuses what node-saml fails on unexpectedly as invalid_response (an encrypted assertion, no key)', async (t) => {
      const setup = await startSamlSetup(t, replay, { idpInitiated: true });
      const encrypted = Buffer.from(setup.idp.buildResponse({ sign: 'none' }), 'base64')
        .toString('utf8')
        .replace(
          /<saml:Assertion[\s\S]*<\/saml:Assertion>/,
          '<saml:EncryptedAssertion><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"/></saml:EncryptedAssertion>',
        );
      const refusal = await assertRefused(
        setup.federation.complete(
          setup.connection,
          { SAMLResponse: Buffer.from(encrypted).toString('base64') },
          null,
        ),
        'invalid_response',
      );
      assert.ok(refusal.cause instanceof Error);
    });

    it("refuses an IdP's error status, signed or not", async (t) => {
      for (const sign of ['response', 'none'] as const)
        await assertRefused(
          answer(t, (inResponseTo) => ({
            inResponseTo,
            sign,
            status: 'urn:oasis:names:tc:SAML:2.0:status:Responder',
          })),
          'idp_error',
        );
    });
  });
}
