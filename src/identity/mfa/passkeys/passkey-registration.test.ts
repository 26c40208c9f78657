import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ORIGIN,
  type PasskeyTestApp,
  passkeyTestApp,
  RP_ID,
} from '../../../../test/helpers/passkey-fixture.ts';
import { tenancyTestApp } from '../../../../test/helpers/tenancy-fixture.ts';
import { PASSWORD } from '../../../../test/helpers/tenancy-users-fixture.ts';
import { testEngines } from '../../../../test/helpers/test-database.ts';

type Json = Record<string, unknown>;

for (const engine of testEngines()) {
  describe(`passkey registration and management (${engine})`, () => {
    it('registers a discoverable, user-verified passkey and lists it without its key', async (t) => {
      const app = await passkeyTestApp(t, engine);
      const ada = await app.member('acme', 'ada@example.com', ['viewer']);
      const options = await app.send('POST', '/auth/passkeys/register/options', ada.token);
      assert.equal(options.status, 200, JSON.stringify(options.body));
      assert.deepEqual(options.body.rp, { name: 'Tessera', id: RP_ID });
      assert.equal((options.body.user as Json).name, 'ada@example.com');
      assert.equal(
        Buffer.from(String((options.body.user as Json).id), 'base64url').toString(),
        ada.id,
        'the user handle is the account id',
      );
      assert.equal(options.body.attestation, 'none');
      const selection = options.body.authenticatorSelection as Json;
      assert.equal(selection.residentKey, 'required');
      assert.equal(selection.userVerification, 'required');
      assert.deepEqual(options.body.excludeCredentials, []);

      const authenticator = app.authenticator();
      const response = authenticator.create(options.body);
      const created = await app.send('POST', '/auth/passkeys/register/verify', ada.token, {
        response,
        name: 'Laptop',
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.id, response.id);
      assert.equal(created.body.name, 'Laptop');
      assert.equal(created.body.device_type, 'singleDevice');
      assert.equal(created.body.backed_up, false);
      assert.deepEqual(created.body.transports, ['internal']);

      const listed = await app.send('GET', '/auth/passkeys', ada.token);
      assert.equal(listed.status, 200);
      const [only] = listed.body.passkeys as Json[];
      assert.deepEqual(Object.keys(only ?? {}).sort(), [
        'backed_up',
        'created_at',
        'device_type',
        'id',
        'last_used_at',
        'name',
        'transports',
      ]);
      const stored = await app.db.kysely
        .selectFrom('passkeys')
        .selectAll()
        .where('id', '=', String(response.id))
        .executeTakeFirstOrThrow();
      assert.equal(stored.tenant_id, 'acme', 'lands where the session was');
      assert.equal(stored.user_id, ada.id);
      assert.equal(stored.counter, 0);

      // The next ceremony excludes it: an authenticator will not make a second one.
      const again = await app.send('POST', '/auth/passkeys/register/options', ada.token);
      assert.deepEqual(
        (again.body.excludeCredentials as Json[]).map((c) => c.id),
        [response.id],
      );
      const audit = await app.audit('acme', 'mfa.passkey_');
      assert.deepEqual(
        audit.map((a) => [a.action, a.actor, a.target]),
        [['mfa.passkey_registered', ada.id, `user:${ada.id}`]],
      );
    });

    it('registering proves a second factor in the session; a synced one is multiDevice', async (t) => {
      const app = await passkeyTestApp(t, engine);
      const bob = await app.member('acme', 'bob@example.com', ['viewer']);
      const created = await app.register(bob.token, app.authenticator(), { synced: true });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.device_type, 'multiDevice');
      assert.equal(created.body.backed_up, true);
      assert.equal(created.body.name, 'Synced passkey');
      const session = await app.db.kysely
        .selectFrom('sessions')
        .select(['amr', 'second_factor_ms'])
        .where('user_id', '=', bob.id)
        .executeTakeFirstOrThrow();
      assert.deepEqual(JSON.parse(session.amr), ['pwd', 'swk', 'user', 'mfa']);
      assert.equal(typeof session.second_factor_ms, 'number');
    });

    it('refuses a duplicate credential (409) and a 21st passkey (409)', async (t) => {
      const app = await passkeyTestApp(t, engine);
      const cy = await app.member('acme', 'cy@example.com', ['viewer']);
      const authenticator = app.authenticator();
      const first = await app.register(cy.token, authenticator);
      assert.equal(first.status, 201);
      const duplicate = await app.register(cy.token, authenticator, {
        credentialId: String(first.body.id),
      });
      assert.equal(duplicate.status, 409);
      assert.equal(duplicate.body.code, 'passkey_exists');
      for (let n = 2; n <= 20; n++) {
        assert.equal((await app.register(cy.token, authenticator)).status, 201);
      }
      const over = await app.send('POST', '/auth/passkeys/register/options', cy.token);
      assert.equal(over.status, 409);
      assert.equal(over.body.code, 'passkey_limit_reached');
      const listed = await app.send('GET', '/auth/passkeys', cy.token);
      assert.equal((listed.body.passkeys as Json[]).length, 20);
    });

    it('needs a recent password or factor check to register (403 reauthentication_required)', async (t) => {
      const app = await passkeyTestApp(t, engine);
      const dee = await app.member('acme', 'dee@example.com', ['viewer']);
      const options = await app.send('POST', '/auth/passkeys/register/options', dee.token);
      assert.equal(options.status, 200);
      const session = await app.db.kysely
        .selectFrom('sessions')
        .select('id')
        .where('user_id', '=', dee.id)
        .executeTakeFirstOrThrow();
      // The sign-in was an hour ago, longer than mfa.reauthentication_seconds.
      await app.db.kysely
        .updateTable('sessions')
        .set({ reauth_ms: Date.now() - 3_600_000 })
        .where('id', '=', session.id)
        .execute();
      app.services.identity.credentials.changed({ kind: 'session', id: session.id });
      for (const url of ['/auth/passkeys/register/options', '/auth/passkeys/register/verify']) {
        const late = await app.send('POST', url, dee.token, {
          response: app.authenticator().create(options.body),
        });
        assert.equal(late.status, 403, url);
        assert.equal(late.body.code, 'reauthentication_required');
      }
      assert.equal(await countPasskeys(app, dee.id), 0);
    });

    it('beside another factor, only a session that proved one lately adds a passkey', async (t) => {
      const app = await passkeyTestApp(t, engine);
      const kai = await app.member('acme', 'kai@example.com', ['viewer']);
      // A password session from before the first passkey: it proved no second factor.
      const older = await app.login('kai@example.com', PASSWORD, 'acme');
      const authenticator = app.authenticator();
      assert.equal((await app.register(kai.token, authenticator)).status, 201);
      const refused = await app.send('POST', '/auth/passkeys/register/options', older);
      assert.equal(refused.status, 403);
      assert.equal(refused.body.code, 'step_up_required');
      // The session that registered the first proved it: it may add another.
      assert.equal((await app.register(kai.token, authenticator)).status, 201);
      assert.equal(await countPasskeys(app, kai.id), 2);
    });

    it('renames (validated), and another user’s passkey is not found', async (t) => {
      const app = await passkeyTestApp(t, engine);
      const eve = await app.member('acme', 'eve@example.com', ['admin']);
      const fay = await app.member('acme', 'fay@example.com', ['viewer']);
      const created = await app.register(fay.token, app.authenticator());
      const url = `/auth/passkeys/${created.body.id}`;
      const renamed = await app.send('PATCH', url, fay.token, { name: '  Phone ' });
      assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
      assert.equal(renamed.body.name, 'Phone');
      for (const name of ['', '   ', 'x'.repeat(101)]) {
        const bad = await app.send('PATCH', url, fay.token, { name });
        assert.equal(bad.status, 400, JSON.stringify(name));
      }
      // Even the tenant's admin: passkeys are their owner's alone.
      for (const [method, body] of [
        ['PATCH', { name: 'mine now' }],
        ['DELETE', undefined],
      ] as const) {
        const other = await app.send(method, url, eve.token, body);
        assert.equal(other.status, method === 'PATCH' ? 404 : 403, JSON.stringify(other.body));
      }
      const missing = await app.send('PATCH', '/auth/passkeys/AAAA', fay.token, { name: 'x' });
      assert.equal(missing.status, 404);
      assert.equal(missing.body.code, 'passkey_not_found');
      const audit = await app.audit('acme', 'mfa.passkey_renamed');
      assert.equal(audit.length, 1);
    });

    it('removing needs a recent second factor; the last factor takes the recovery codes', async (t) => {
      const app = await passkeyTestApp(t, engine);
      const gil = await app.member('acme', 'gil@example.com', ['viewer']);
      // A second password session, before the passkey (then a login asks for it).
      const password = await app.login('gil@example.com', PASSWORD, 'acme');
      const authenticator = app.authenticator();
      const created = await app.register(gil.token, authenticator);
      await app.db.kysely
        .insertInto('recovery_codes')
        .values({ user_id: gil.id, digest: 'd1', created_ms: Date.now(), used_ms: null })
        .execute();
      // That password session has proved no second factor.
      const url = `/auth/passkeys/${created.body.id}`;
      const refused = await app.send('DELETE', url, password);
      assert.equal(refused.status, 403);
      assert.equal(refused.body.code, 'step_up_required');
      assert.equal(await countPasskeys(app, gil.id), 1);

      const signedIn = await app.passkeyLogin(authenticator);
      assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
      const token = { token: String(signedIn.body.access_token) };
      // Another user's session cannot remove it either.
      const hal = await app.member('acme', 'hal@example.com', ['viewer']);
      const halKey = await app.register(hal.token, app.authenticator());
      const notHers = await app.send('DELETE', `/auth/passkeys/${halKey.body.id}`, token);
      assert.equal(notHers.status, 404);
      assert.equal((await app.send('DELETE', url, token)).status, 204);
      assert.equal(await countPasskeys(app, gil.id), 0);
      const codes = await app.db.kysely
        .selectFrom('recovery_codes')
        .select('digest')
        .where('user_id', '=', gil.id)
        .execute();
      assert.deepEqual(codes, [], 'recovery codes exist only beside a factor');
      assert.equal((await app.send('DELETE', url, token)).status, 404);
      const removed = await app.audit('acme', 'mfa.passkey_removed');
      assert.equal(removed.length, 1);
      assert.equal(removed[0]?.details.last_factor, true);
      const mail = await app.db.kysely
        .selectFrom('email_outbox')
        .select('subject')
        .where('template', '=', 'mfa_changed')
        .where('recipient', '=', 'gil@example.com')
        .execute();
      assert.equal(mail.length, 2, 'one notice for the passkey added, one for it removed');
    });

    it('refuses API keys (400) and answers 400 when passkeys are not configured', async (t) => {
      const app = await passkeyTestApp(t, engine);
      const key = await app.keyFor('acme');
      for (const [method, url] of [
        ['POST', '/auth/passkeys/register/options'],
        ['GET', '/auth/passkeys'],
        ['POST', '/auth/mfa/webauthn/step-up-options'],
      ] as const) {
        const reply = await app.send(method, url, key);
        assert.equal(reply.status, 400, `${method} ${url}: ${JSON.stringify(reply.body)}`);
      }
      const off = await tenancyTestApp(t, engine);
      const offReply = await off.send('POST', '/auth/passkeys/login/options', null);
      assert.equal(offReply.status, 400);
      assert.equal(offReply.body.code, 'mfa_method_unavailable');
    });

    it('a response from another origin or without user verification is refused', async (t) => {
      const app = await passkeyTestApp(t, engine);
      const ivy = await app.member('acme', 'ivy@example.com', ['viewer']);
      for (const ceremony of [{ origin: 'https://evil.example' }, { userVerified: false }]) {
        const refused = await app.register(ivy.token, app.authenticator(), ceremony);
        assert.equal(refused.status, 400, JSON.stringify(refused.body));
        assert.equal(refused.body.code, 'webauthn_verification_failed');
      }
      assert.equal(await countPasskeys(app, ivy.id), 0);
      assert.ok(ORIGIN);
    });
  });
}

async function countPasskeys(app: PasskeyTestApp, userId: string): Promise<number> {
  const rows = await app.db.kysely
    .selectFrom('passkeys')
    .select('id')
    .where('user_id', '=', userId)
    .execute();
  return rows.length;
}
