import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { invitationTestApp } from '../../../test/helpers/invitation-fixture.ts';
import { tokenFrom } from '../../../test/helpers/smtp-sink.ts';
import { PASSWORD } from '../../../test/helpers/tenancy-users-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';

type Json = Record<string, unknown>;

/**
 * Issue 17 part B: `auth.registration = "open"` makes an account one can use (in
 * `auth.registration_tenant`, or a tenant of its own), sends it a verification email,
 * and never tells whether an address was taken.
 */
for (const engine of testEngines()) {
  describe(`open registration (${engine})`, () => {
    it('joins the registration tenant, verifies by email, and answers a taken address alike', async (t) => {
      const app = await invitationTestApp(t, engine, {
        auth: { registration: 'open', registration_tenant: 'acme' },
      });
      await app.keyFor('acme');
      const register = (body: Json) => app.send('POST', '/auth/register', null, body);
      const created = await register({ email: 'Ada@Example.com', password: PASSWORD, name: 'Ada' });
      assert.equal(created.status, 202, JSON.stringify(created.body));
      assert.deepEqual(created.body, { status: 'accepted', email: 'ada@example.com' });
      const verify = await app.mail('ada@example.com', 'verify_email');
      assert.match(tokenFrom(verify, '/auth/email/verify'), /^tsv_/);
      assert.match(verify.text, /Hello Ada,/);
      const ada = await app.login('ada@example.com', PASSWORD, 'acme');
      assert.deepEqual((await app.send('GET', '/auth/me', ada)).body.roles, ['viewer']);
      assert.equal((await app.send('GET', '/entities/e/events', ada)).status, 200);

      const users = async () =>
        (await app.db.kysely.selectFrom('users').select('id').execute()).length;
      const before = await users();
      const taken = await register({ email: 'ADA@example.com', password: `${PASSWORD}!` });
      assert.deepEqual([taken.status, taken.body], [created.status, created.body]);
      const notice = await app.mail('ada@example.com', 'account_exists');
      assert.match(notice.text, /already has one/);
      assert.equal(await users(), before, 'no new account');
      const wrong = await app.send('POST', '/auth/login', null, {
        email: 'ada@example.com',
        password: `${PASSWORD}!`,
      });
      assert.equal(wrong.status, 401, 'the password stayed');

      const platform = await app.audit('system', 'user.regist');
      assert.deepEqual(
        platform.map((e) => [e.action, e.outcome, e.details.tenant_id ?? null]),
        [
          ['user.registered', 'success', 'acme'],
          ['user.registration_repeated', 'failure', null],
        ],
      );
      const [added] = await app.audit('acme', 'user.added');
      assert.deepEqual(added?.details, {
        email: 'ada@example.com',
        roles: ['viewer'],
        via: 'registration',
      });
    });

    it('creates a tenant of its own on the free plan, with the user as its admin', async (t) => {
      const app = await invitationTestApp(t, engine, {
        auth: { registration: 'open', registration_creates_tenant: true },
      });
      const reply = await app.send('POST', '/auth/register', null, {
        email: 'Grace.Hopper+x@example.com',
        password: PASSWORD,
        tenant_name: 'Hopper Labs',
      });
      assert.equal(reply.status, 202, JSON.stringify(reply.body));
      const login = await app.send('POST', '/auth/login', null, {
        email: 'grace.hopper+x@example.com',
        password: PASSWORD,
      });
      assert.equal(login.status, 200, JSON.stringify(login.body));
      const tenantId = String(login.body.tenant_id);
      assert.match(tenantId, /^grace-hopper-x-[0-9a-f]{8}$/);
      const grace = { token: String(login.body.access_token) };
      assert.deepEqual((await app.send('GET', '/auth/me', grace)).body.roles, ['admin']);
      const tenant = await app.send('GET', `/tenants/${tenantId}`, grace);
      assert.deepEqual([tenant.body.name, tenant.body.plan], ['Hopper Labs', 'free']);
      // The verification email carries the new tenant's branding.
      await app.mail('grace.hopper+x@example.com', 'verify_email');
      const [row] = await app.db.kysely
        .selectFrom('email_outbox')
        .select('tenant_id')
        .where('template', '=', 'verify_email')
        .execute();
      assert.equal(row?.tenant_id, tenantId);
      const trail = (await app.audit(tenantId, '')).map((e) => e.action);
      assert.deepEqual(trail, ['tenant.created', 'user.added', 'login.succeeded']);
      // A name no tenant may have: 400 for every address, nothing made.
      const bad = await app.send('POST', '/auth/register', null, {
        email: 'new@example.com',
        password: PASSWORD,
        tenant_name: 'bad\u0007name',
      });
      assert.deepEqual([bad.status, bad.body.code], [400, 'invalid_tenant']);
      assert.equal(await app.services.identity.users.findByEmail('new@example.com'), undefined);
    });

    it('is 503 registration_unavailable, for new and taken addresses, when its tenant or role is missing', async (t) => {
      const app = await invitationTestApp(t, engine, {
        auth: { registration: 'open', registration_tenant: 'acme', registration_role: 'wizard' },
      });
      await app.userWith('old@example.com', PASSWORD);
      const tries = [
        { email: 'new@example.com', password: PASSWORD },
        { email: 'old@example.com', password: PASSWORD },
      ];
      for (const body of tries) {
        const missing = await app.send('POST', '/auth/register', null, body);
        assert.deepEqual([missing.status, missing.body.code], [503, 'registration_unavailable']);
      }
      await app.keyFor('acme');
      for (const body of tries) {
        const noRole = await app.send('POST', '/auth/register', null, body);
        assert.deepEqual([noRole.status, noRole.body.code], [503, 'registration_unavailable']);
      }
      assert.equal(await app.services.identity.users.findByEmail('new@example.com'), undefined);
      assert.equal(await app.outboxCount('old@example.com'), 0);
    });
  });
}
