import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { claimsOf, passkeyTestApp } from '../../../../test/helpers/passkey-fixture.ts';
import { PASSWORD } from '../../../../test/helpers/tenancy-users-fixture.ts';
import { testEngines } from '../../../../test/helpers/test-database.ts';
import type { AuditContext } from '../../../access/audit-context.ts';
import { TesseraError } from '../../../platform/errors.ts';
import { digestSecret } from '../../../platform/secrets.ts';
import { createMfaTokenStore } from '../mfa-token-store.ts';

type Json = Record<string, unknown>;

const CONTEXT: AuditContext = {
  actor: null,
  actor_type: 'anonymous',
  ip: null,
  user_agent: null,
  request_id: null,
};

/**
 * A passkey as a second factor: the options through the API, the `webauthn` verifier
 * through the port the login's second step and step-up call (second-factor.ts).
 */
for (const engine of testEngines()) {
  describe(`a passkey as a second factor (${engine})`, () => {
    async function setUp(t: Parameters<typeof passkeyTestApp>[0]) {
      const app = await passkeyTestApp(t, engine);
      const verifier = app.services.identity.factorVerifiers.find((v) => v.method === 'webauthn');
      assert.ok(verifier, 'services.identity.factorVerifiers has the webauthn verifier');
      const tokens = createMfaTokenStore(app.db.kysely);
      const pending = async (userId: string) =>
        (
          await tokens.issue(
            { user_id: userId, tenant_id: 'acme', amr: ['pwd'], ip: null, user_agent: null },
            60_000,
          )
        ).token;
      return { app, verifier, pending };
    }

    it('a login’s second step: options bound to its mfa_token, proved once', async (t) => {
      const { app, verifier, pending } = await setUp(t);
      const ada = await app.member('acme', 'ada@example.com', ['viewer']);
      const authenticator = app.authenticator();
      const created = await app.register(ada.token, authenticator);
      assert.equal(await verifier.enabledFor(ada.id), true);
      const token = await pending(ada.id);
      const options = await app.post('/auth/mfa/webauthn/options', { mfa_token: token });
      assert.equal(options.status, 200, JSON.stringify(options.body));
      assert.deepEqual(
        (options.body.allowCredentials as Json[]).map((c) => c.id),
        [created.body.id],
      );
      assert.equal(options.body.userVerification, 'required');
      const response = authenticator.get(options.body);
      const binding = { kind: 'login', mfaTokenDigest: digestSecret(token) } as const;
      // Another login's token: the challenge is not its.
      const other = { kind: 'login', mfaTokenDigest: digestSecret(await pending(ada.id)) } as const;
      assert.deepEqual(
        await verifier.verify({ userId: ada.id, response, binding: other }, CONTEXT),
        {
          ok: false,
          reason: 'challenge_invalid',
        },
      );
      const proved = await verifier.verify({ userId: ada.id, response, binding }, CONTEXT);
      assert.deepEqual(proved, {
        ok: true,
        proof: { amr: ['hwk', 'user'], secondFactor: true },
        detail: { credential_id: created.body.id },
      });
      const replayed = await verifier.verify({ userId: ada.id, response, binding }, CONTEXT);
      assert.deepEqual(replayed, { ok: false, reason: 'challenge_invalid' });
    });

    it('the options need a live mfa_token and a passkey', async (t) => {
      const { app, verifier, pending } = await setUp(t);
      const bob = await app.member('acme', 'bob@example.com', ['viewer']);
      for (const mfa_token of ['tsf_nope', 'whatever']) {
        const unknown = await app.post('/auth/mfa/webauthn/options', { mfa_token });
        assert.equal(unknown.status, 401);
        assert.equal(unknown.body.code, 'mfa_token_invalid');
      }
      const none = await app.post('/auth/mfa/webauthn/options', {
        mfa_token: await pending(bob.id),
      });
      assert.equal(none.status, 400);
      assert.equal(none.body.code, 'mfa_method_unavailable');
      assert.equal(await verifier.enabledFor(bob.id), false);
    });

    it('another user’s passkey proves nothing for this user', async (t) => {
      const { app, verifier, pending } = await setUp(t);
      const cy = await app.member('acme', 'cy@example.com', ['viewer']);
      const dee = await app.member('acme', 'dee@example.com', ['viewer']);
      const cyAuthenticator = app.authenticator();
      const cyKey = await app.register(cy.token, cyAuthenticator);
      await app.register(dee.token, app.authenticator());
      const token = await pending(dee.id);
      const options = await app.post('/auth/mfa/webauthn/options', { mfa_token: token });
      // Cy's authenticator answers Dee's challenge with Cy's passkey.
      const response = cyAuthenticator.get(options.body, { credentialId: String(cyKey.body.id) });
      const binding = { kind: 'login', mfaTokenDigest: digestSecret(token) } as const;
      assert.deepEqual(await verifier.verify({ userId: dee.id, response, binding }, CONTEXT), {
        ok: false,
        reason: 'unknown_passkey',
      });
    });

    it('a session’s step-up: options bound to the session', async (t) => {
      const { app, verifier } = await setUp(t);
      const eve = await app.member('acme', 'eve@example.com', ['viewer']);
      const authenticator = app.authenticator();
      await app.register(eve.token, authenticator, { synced: true });
      const sessions = await app.db.kysely
        .selectFrom('sessions')
        .select('id')
        .where('user_id', '=', eve.id)
        .execute();
      const sessionId = String(sessions[0]?.id);
      const options = await app.send('POST', '/auth/mfa/webauthn/step-up-options', eve.token);
      assert.equal(options.status, 200);
      const response = authenticator.get(options.body, { synced: true });
      const elsewhere = { kind: 'session', sessionId: 'another-session' } as const;
      assert.deepEqual(
        await verifier.verify({ userId: eve.id, response, binding: elsewhere }, CONTEXT),
        { ok: false, reason: 'challenge_invalid' },
      );
      const proved = await verifier.verify(
        { userId: eve.id, response, binding: { kind: 'session', sessionId } },
        CONTEXT,
      );
      assert.equal(proved.ok, true);
      assert.deepEqual(proved.ok && proved.proof, { amr: ['swk', 'user'], secondFactor: true });
    });

    it('a malformed response is a 400 error, not an outcome', async (t) => {
      const { app, verifier } = await setUp(t);
      const fay = await app.member('acme', 'fay@example.com', ['viewer']);
      for (const response of [undefined, null, 'x', { id: 'AAAA' }]) {
        await assert.rejects(
          verifier.verify(
            { userId: fay.id, response, binding: { kind: 'session', sessionId: 's' } },
            CONTEXT,
          ),
          (error: unknown) => error instanceof TesseraError && error.status === 400,
        );
      }
    });
    it('through the API: a password login’s second step and a session’s step-up', async (t) => {
      const { app } = await setUp(t);
      const gil = await app.member('acme', 'gil@example.com', ['viewer']);
      // A second password session, opened before the passkey existed.
      const older = await app.login('gil@example.com', PASSWORD, 'acme');
      const authenticator = app.authenticator();
      const created = await app.register(gil.token, authenticator);

      const login = await app.post('/auth/login', {
        email: 'gil@example.com',
        password: PASSWORD,
        tenant_id: 'acme',
      });
      assert.equal(login.status, 200, JSON.stringify(login.body));
      assert.equal(login.body.mfa_required, true);
      assert.deepEqual(login.body.methods, ['webauthn']);
      const mfa_token = String(login.body.mfa_token);
      const options = await app.post('/auth/mfa/webauthn/options', { mfa_token });
      const foreign = authenticator.get(options.body, { origin: 'https://evil.example' });
      const refused = await app.post('/auth/mfa/verify', {
        mfa_token,
        method: 'webauthn',
        response: foreign,
      });
      assert.equal(refused.status, 400);
      assert.equal(refused.body.code, 'mfa_code_invalid');
      // The refused attempt spent its challenge; new options, a good answer.
      const again = await app.post('/auth/mfa/webauthn/options', { mfa_token });
      const verified = await app.post('/auth/mfa/verify', {
        mfa_token,
        method: 'webauthn',
        response: authenticator.get(again.body),
      });
      assert.equal(verified.status, 200, JSON.stringify(verified.body));
      assert.deepEqual(claimsOf(verified.body.access_token).amr, ['pwd', 'hwk', 'user', 'mfa']);

      // The older session steps up with the passkey, then may remove it.
      const url = `/auth/passkeys/${created.body.id}`;
      assert.equal((await app.send('DELETE', url, older)).status, 403);
      const stepUp = await app.send('POST', '/auth/mfa/webauthn/step-up-options', older);
      assert.equal(stepUp.status, 200, JSON.stringify(stepUp.body));
      const stepped = await app.send('POST', '/auth/mfa/step-up', older, {
        method: 'webauthn',
        response: authenticator.get(stepUp.body),
      });
      assert.equal(stepped.status, 200, JSON.stringify(stepped.body));
      assert.equal((await app.send('DELETE', url, older)).status, 204);
    });
  });
}
