import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { claimsOf, ORIGIN, passkeyTestApp } from '../../../../test/helpers/passkey-fixture.ts';
import { testEngines } from '../../../../test/helpers/test-database.ts';

type Json = Record<string, unknown>;

for (const engine of testEngines()) {
  describe(`passwordless passkey sign-in (${engine})`, () => {
    it('signs in with no email typed, as the credential’s user, in its tenant, with mfa', async (t) => {
      const app = await passkeyTestApp(t, engine);
      const ada = await app.member('acme', 'ada@example.com', ['admin']);
      await app.member('acme', 'bob@example.com', ['viewer']);
      const authenticator = app.authenticator();
      const created = await app.register(ada.token, authenticator);
      assert.equal(created.status, 201);

      const options = await app.post('/auth/passkeys/login/options');
      assert.equal(options.status, 200);
      assert.deepEqual(options.body.allowCredentials, []);
      assert.equal(options.body.userVerification, 'required');
      assert.equal(options.body.rpId, 'tessera.test');
      const signedIn = await app.post('/auth/passkeys/login/verify', {
        response: authenticator.get(options.body),
      });
      assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
      assert.equal(signedIn.body.tenant_id, 'acme');
      assert.equal(signedIn.body.token_type, 'Bearer');
      assert.equal(typeof signedIn.body.refresh_token, 'string');
      const claims = claimsOf(signedIn.body.access_token);
      assert.equal(claims.sub, ada.id);
      assert.equal(claims.tid, 'acme');
      assert.deepEqual(claims.amr, ['hwk', 'user', 'mfa']);
      assert.equal(typeof claims.auth_time, 'number');
      const me = await app.send('GET', '/auth/me', { token: String(signedIn.body.access_token) });
      assert.equal(me.status, 200);
      assert.equal((me.body.user as Json).email, 'ada@example.com');
      assert.deepEqual(me.body.roles, ['admin']);

      const listed = await app.send('GET', '/auth/passkeys', ada.token);
      const [used] = listed.body.passkeys as Json[];
      assert.equal(typeof used?.last_used_at, 'string', 'the use is recorded');
      const row = await app.db.kysely
        .selectFrom('passkeys')
        .select('counter')
        .executeTakeFirstOrThrow();
      assert.equal(row.counter, 1);
      const logins = await app.audit('acme', 'login.succeeded');
      const passkeyLogin = logins.find((entry) => entry.details.method === 'passkey');
      assert.equal(passkeyLogin?.actor, ada.id);
      assert.equal(passkeyLogin?.details.credential_id, created.body.id);
    });

    it('a synced passkey signs in with swk', async (t) => {
      const app = await passkeyTestApp(t, engine);
      const cy = await app.member('acme', 'cy@example.com', ['viewer']);
      const authenticator = app.authenticator();
      await app.register(cy.token, authenticator, { synced: true });
      const signedIn = await app.passkeyLogin(authenticator, { synced: true });
      assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
      assert.deepEqual(claimsOf(signedIn.body.access_token).amr, ['swk', 'user', 'mfa']);
    });

    it('a challenge is single-use: the same assertion twice is refused', async (t) => {
      const app = await passkeyTestApp(t, engine);
      const dee = await app.member('acme', 'dee@example.com', ['viewer']);
      const authenticator = app.authenticator();
      await app.register(dee.token, authenticator);
      const options = await app.post('/auth/passkeys/login/options');
      const response = authenticator.get(options.body);
      assert.equal((await app.post('/auth/passkeys/login/verify', { response })).status, 200);
      const replayed = await app.post('/auth/passkeys/login/verify', { response });
      assert.equal(replayed.status, 400);
      assert.equal(replayed.body.code, 'webauthn_challenge_invalid');
      const failed = await app.audit('system', 'login.failed');
      assert.equal(failed.at(-1)?.details.reason, 'challenge_invalid');
    });

    it('a challenge issued for one purpose never works for another', async (t) => {
      const app = await passkeyTestApp(t, engine);
      const eve = await app.member('acme', 'eve@example.com', ['viewer']);
      const authenticator = app.authenticator();
      await app.register(eve.token, authenticator);
      // A registration challenge answered as a login.
      const registration = await app.send('POST', '/auth/passkeys/register/options', eve.token);
      const asLogin = authenticator.get({ ...registration.body, rpId: 'tessera.test' });
      const refused = await app.post('/auth/passkeys/login/verify', { response: asLogin });
      assert.equal(refused.status, 400);
      assert.equal(refused.body.code, 'webauthn_challenge_invalid');
      // A step-up challenge answered as a login.
      const stepUp = await app.send('POST', '/auth/mfa/webauthn/step-up-options', eve.token);
      assert.equal(stepUp.status, 200, JSON.stringify(stepUp.body));
      const fromStepUp = await app.post('/auth/passkeys/login/verify', {
        response: authenticator.get(stepUp.body),
      });
      assert.equal(fromStepUp.body.code, 'webauthn_challenge_invalid');
      // A login challenge answered as a registration.
      const login = await app.post('/auth/passkeys/login/options');
      const asRegistration = app.authenticator().create({
        ...login.body,
        rp: { id: 'tessera.test', name: 'Tessera' },
        user: { id: Buffer.from(eve.id).toString('base64url') },
      });
      const registered = await app.send('POST', '/auth/passkeys/register/verify', eve.token, {
        response: asRegistration,
      });
      assert.equal(registered.status, 400);
      assert.equal(registered.body.code, 'webauthn_challenge_invalid');
    });

    it('refuses a wrong origin, no user verification, a bad signature', async (t) => {
      const app = await passkeyTestApp(t, engine);
      const fay = await app.member('acme', 'fay@example.com', ['viewer']);
      const authenticator = app.authenticator();
      await app.register(fay.token, authenticator);
      const cases: [string, (options: Json) => Json][] = [
        ['origin', (o) => authenticator.get(o, { origin: 'https://other.tessera.test' })],
        ['user verification', (o) => authenticator.get(o, { userVerified: false })],
        [
          'signature',
          (o) => {
            const response = authenticator.get(o);
            const inner = response.response as Json;
            const signature = Buffer.from(String(inner.signature), 'base64url');
            signature.writeUInt8((signature.at(-1) ?? 0) ^ 1, signature.length - 1);
            return {
              ...response,
              response: { ...inner, signature: signature.toString('base64url') },
            };
          },
        ],
      ];
      for (const [what, answer] of cases) {
        const options = await app.post('/auth/passkeys/login/options');
        const refused = await app.post('/auth/passkeys/login/verify', {
          response: answer(options.body),
        });
        assert.equal(refused.status, 400, `${what}: ${JSON.stringify(refused.body)}`);
        assert.equal(refused.body.code, 'webauthn_verification_failed', what);
      }
      assert.ok(ORIGIN);
    });

    it('a counter that goes backwards is refused', async (t) => {
      const app = await passkeyTestApp(t, engine);
      const gil = await app.member('acme', 'gil@example.com', ['viewer']);
      const authenticator = app.authenticator();
      await app.register(gil.token, authenticator);
      assert.equal((await app.passkeyLogin(authenticator, { counter: 7 })).status, 200);
      for (const counter of [7, 3]) {
        const cloned = await app.passkeyLogin(authenticator, { counter });
        assert.equal(cloned.status, 400, `counter ${counter}`);
        assert.equal(cloned.body.code, 'webauthn_verification_failed');
      }
      assert.equal((await app.passkeyLogin(authenticator, { counter: 8 })).status, 200);
    });

    it('an unknown credential or a passkey whose membership is gone signs in nowhere', async (t) => {
      const app = await passkeyTestApp(t, engine);
      const hal = await app.member('acme', 'hal@example.com', ['viewer']);
      const authenticator = app.authenticator();
      await app.register(hal.token, authenticator);
      // A stranger's authenticator, never registered here.
      const stranger = app.authenticator();
      stranger.create({
        rp: { id: 'tessera.test' },
        user: { id: 'c29tZW9uZQ' },
        challenge: 'AAAA',
      });
      const unknown = await app.passkeyLogin(stranger);
      assert.equal(unknown.status, 401);
      assert.equal(unknown.body.code, 'invalid_credentials');

      const admin = await app.keyFor('acme');
      assert.equal((await app.send('DELETE', `/users/${hal.id}`, admin)).status, 204);
      const gone = await app.passkeyLogin(authenticator);
      assert.equal(gone.status, 401, JSON.stringify(gone.body));
      assert.equal(gone.body.code, 'invalid_credentials');
    });

    it('a passkey registered in tenant A signs in to A only; B’s admin cannot touch it', async (t) => {
      const app = await passkeyTestApp(t, engine);
      const ivy = await app.member('alpha', 'ivy@example.com', ['viewer']);
      await app.keyFor('bravo');
      await app.services.tenancy.memberships.grant('bravo', ivy.id, ['viewer']);
      const bravoAdmin = await app.member('bravo', 'boss@example.com', ['admin']);
      const authenticator = app.authenticator();
      const created = await app.register(ivy.token, authenticator);
      const signedIn = await app.passkeyLogin(authenticator);
      assert.equal(signedIn.status, 200);
      assert.equal(signedIn.body.tenant_id, 'alpha');
      assert.equal(claimsOf(signedIn.body.access_token).tid, 'alpha');
      // Bravo's admin, even stepped up with a passkey of their own, finds no such passkey.
      const own = app.authenticator();
      const ownKey = await app.register(bravoAdmin.token, own);
      const stepped = await app.passkeyLogin(own);
      const bossToken = { token: String(stepped.body.access_token) };
      const url = `/auth/passkeys/${created.body.id}`;
      assert.equal((await app.send('PATCH', url, bossToken, { name: 'x' })).status, 404);
      assert.equal((await app.send('DELETE', url, bossToken)).status, 404);
      const bravoKey = await app.keyFor('bravo');
      assert.equal((await app.send('DELETE', url, bravoKey)).status, 400);
      const listed = await app.send('GET', '/auth/passkeys', bossToken);
      assert.deepEqual(
        (listed.body.passkeys as Json[]).map((p) => p.id),
        [ownKey.body.id],
      );
      const stillThere = await app.send('GET', '/auth/passkeys', ivy.token);
      assert.equal((stillThere.body.passkeys as Json[]).length, 1);
    });

    it('malformed responses are 400s, never 500s', async (t) => {
      const app = await passkeyTestApp(t, engine);
      const jo = await app.member('acme', 'jo@example.com', ['viewer']);
      const authenticator = app.authenticator();
      await app.register(jo.token, authenticator);
      const options = await app.post('/auth/passkeys/login/options');
      const good = authenticator.get(options.body);
      const inner = good.response as Json;
      const garbage = Buffer.from('not cbor at all').toString('base64url');
      const bodies: unknown[] = [
        {},
        { response: null },
        { response: 'x' },
        { response: { ...good, response: {} } },
        { response: { ...good, type: 'password' } },
        { response: { ...good, response: { ...inner, clientDataJSON: 'bm90IGpzb24' } } },
        { response: { ...good, response: { ...inner, clientDataJSON: '!!!' } } },
        { response: { ...good, response: { ...inner, authenticatorData: garbage } } },
        { response: { ...good, response: { ...inner, signature: garbage } } },
        { response: { ...good, response: { ...inner, userHandle: 'AAAA' } } },
        { response: { ...good, id: 'x'.repeat(2000) } },
      ];
      for (const body of bodies) {
        const reply = await app.post('/auth/passkeys/login/verify', body);
        assert.ok(
          reply.status === 400 || reply.status === 401,
          `${JSON.stringify(body).slice(0, 200)} → ${reply.status} ${JSON.stringify(reply.body)}`,
        );
      }
      const registration = await app.send('POST', '/auth/passkeys/register/options', jo.token);
      const made = app.authenticator().create(registration.body);
      const madeInner = made.response as Json;
      for (const response of [
        { ...made, response: { ...madeInner, attestationObject: garbage } },
        { ...made, response: { ...madeInner, clientDataJSON: garbage } },
        { ...made, response: { clientDataJSON: madeInner.clientDataJSON } },
      ]) {
        const reply = await app.send('POST', '/auth/passkeys/register/verify', jo.token, {
          response,
        });
        assert.equal(reply.status, 400, JSON.stringify(reply.body));
      }
    });
    it('of two concurrent uses of one assertion exactly one signs in; an expired challenge is refused', async (t) => {
      const app = await passkeyTestApp(t, engine);
      const kim = await app.member('acme', 'kim@example.com', ['viewer']);
      const authenticator = app.authenticator();
      await app.register(kim.token, authenticator);
      const options = await app.post('/auth/passkeys/login/options');
      const response = authenticator.get(options.body);
      const answers = await Promise.all([
        app.post('/auth/passkeys/login/verify', { response }),
        app.post('/auth/passkeys/login/verify', { response }),
      ]);
      assert.deepEqual(answers.map((a) => a.status).sort(), [200, 400]);
      assert.equal(answers.find((a) => a.status === 400)?.body.code, 'webauthn_challenge_invalid');

      const later = await app.post('/auth/passkeys/login/options');
      await app.db.kysely
        .updateTable('webauthn_challenges')
        .set({ expires_ms: Date.now() - 1 })
        .where('challenge', '=', String(later.body.challenge))
        .execute();
      const expired = await app.post('/auth/passkeys/login/verify', {
        response: authenticator.get(later.body),
      });
      assert.equal(expired.status, 400);
      assert.equal(expired.body.code, 'webauthn_challenge_invalid');
    });

    it('checks the account and tenant as a password login does', async (t) => {
      const app = await passkeyTestApp(t, engine);
      const lee = await app.member('acme', 'lee@example.com', ['viewer']);
      const authenticator = app.authenticator();
      await app.register(lee.token, authenticator);
      const admin = await app.keyFor('acme');
      const refusedWith = async (status: number, code: string) => {
        const reply = await app.passkeyLogin(authenticator);
        assert.equal(reply.status, status, JSON.stringify(reply.body));
        assert.equal(reply.body.code, code);
      };
      const settings = await app.send('PATCH', '/tenants/acme/sign-in-settings', admin, {
        require_verified_email: true,
      });
      assert.equal(settings.status, 200, JSON.stringify(settings.body));
      await refusedWith(403, 'email_not_verified');
      await app.send('PATCH', '/tenants/acme/sign-in-settings', admin, {
        require_verified_email: false,
      });
      assert.equal((await app.send('POST', `/users/${lee.id}/deactivate`, admin)).status, 200);
      await refusedWith(403, 'membership_deactivated');
      assert.equal((await app.send('POST', `/users/${lee.id}/activate`, admin)).status, 200);
      assert.equal((await app.send('POST', '/tenants/acme/deactivate', app.platform)).status, 200);
      await refusedWith(403, 'tenant_suspended');
      assert.equal((await app.send('POST', '/tenants/acme/activate', app.platform)).status, 200);
      assert.equal((await app.passkeyLogin(authenticator)).status, 200);
      const failed = await app.audit('acme', 'login.failed');
      assert.deepEqual(
        failed.map((entry) => [entry.details.method, entry.details.reason]),
        [
          ['passkey', 'email_not_verified'],
          ['passkey', 'membership_deactivated'],
          ['passkey', 'tenant_suspended'],
        ],
      );
    });
  });
}
