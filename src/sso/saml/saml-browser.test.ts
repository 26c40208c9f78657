import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it, type TestContext } from 'node:test';
import { chromium } from 'playwright-core';
import { CHROMIUM } from '../../../test/helpers/oidc-fixture.ts';
import { startSamlIdp } from '../../../test/helpers/saml-idp.ts';
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
import { FederationRefused, SAML_CLAIM_DEFAULTS } from '../federated-identity.ts';
import {
  createSamlFederation,
  type SamlConnection,
  type SamlFederation,
  samlAcsUrl,
} from './saml-federation.ts';

/**
 * Chromium through the test IdP: Tessera's AuthnRequest URL, the IdP's page, its form
 * POSTed to an ACS endpoint that stands in for Tessera's route and answers what
 * `complete` decided. The routes themselves are tested with the HTTP API elsewhere.
 */
async function startRoundTrip(t: TestContext, replay: AssertionReplayStore) {
  const idp = await startSamlIdp();
  t.after(() => idp.close());
  const pending = new Map<string, string>();
  // The ACS needs the federation, which needs the ACS's port: filled in once listening.
  const state: { federation?: SamlFederation; connection?: SamlConnection } = {};
  const acs: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', async () => {
      const form = new URLSearchParams(body);
      const relayState = form.get('RelayState') ?? '';
      try {
        if (state.federation === undefined || state.connection === undefined)
          throw new Error('not ready');
        const signIn = await state.federation.complete(
          state.connection,
          { SAMLResponse: form.get('SAMLResponse') ?? '', RelayState: relayState },
          pending.get(relayState) ?? null,
        );
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ relayState, subject: signIn.subject, groups: signIn.groups }));
      } catch (error) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            refused: error instanceof FederationRefused ? error.reason : String(error),
          }),
        );
      }
    });
  });
  await new Promise<void>((resolve) => acs.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => acs.close(() => resolve())));
  const baseUrl = `http://127.0.0.1:${(acs.address() as AddressInfo).port}`;
  const connection: SamlConnection = {
    id: `sso_${randomBytes(6).toString('hex')}`,
    settings: {
      idp_entity_id: idp.entityId,
      sso_url: idp.ssoUrl,
      certificates: [idp.certificate],
      want_assertions_signed: true,
    },
    claimNames: SAML_CLAIM_DEFAULTS,
    trusted: true,
    idpInitiated: false,
  };
  const federation = createSamlFederation({ baseUrl, replay, clockSkewMs: 60_000 });
  Object.assign(state, { federation, connection });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox'],
  });
  t.after(() => browser.close());
  const page = await browser.newPage();
  const start = async (relayState: string) => {
    const begun = await federation.begin(connection, relayState);
    pending.set(relayState, begun.requestId);
    return begun.url;
  };
  return { idp, page, start, acsUrl: samlAcsUrl(baseUrl, connection.id) };
}

for (const engine of testEngines()) {
  describe(`SAML sign-in in Chromium (${engine})`, () => {
    let test: TestDatabase;
    let replay: AssertionReplayStore;
    before(async () => {
      test = await openTestDatabase(engine);
      await migrateToLatest(test.db, MIGRATIONS);
      replay = createAssertionReplayStore(test.db.kysely);
    });
    after(() => test.cleanup());

    it('follows the IdP page, which submits itself to the ACS URL', async (t) => {
      const { idp, page, start, acsUrl } = await startRoundTrip(t, replay);
      idp.user = { nameId: 'mae@example.test', attributes: { groups: ['a', 'b'] } };
      const [response] = await Promise.all([
        page.waitForResponse((candidate) => candidate.url() === acsUrl),
        page.goto(await start('relay-auto')),
      ]);
      assert.equal(response.status(), 200);
      assert.deepEqual(await response.json(), {
        relayState: 'relay-auto',
        subject: 'mae@example.test',
        groups: ['a', 'b'],
      });
    });

    it('works with the Continue button when the page does not submit itself', async (t) => {
      const { idp, page, start, acsUrl } = await startRoundTrip(t, replay);
      idp.autoSubmit = false;
      await page.goto(await start('relay-click'));
      const [response] = await Promise.all([
        page.waitForResponse((candidate) => candidate.url() === acsUrl),
        page.click('#continue'),
      ]);
      assert.equal(response.status(), 200);
      assert.equal((await response.json()).subject, 'ada@example.test');
    });
  });
}
