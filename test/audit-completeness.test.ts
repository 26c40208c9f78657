import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runAdminCli } from './helpers/admin-cli.ts';
import { buildTestApp } from './helpers/app.ts';
import { apiKeyFor } from './helpers/auth.ts';
import { startSmtpSink, tokenFrom } from './helpers/smtp-sink.ts';
import { type TenancyTestApp, tenancyTestApp } from './helpers/tenancy-fixture.ts';
import { testEngines } from './helpers/test-database.ts';
import { totpCode } from './helpers/totp.ts';
import { until } from './helpers/until.ts';

/**
 * Issue 5: every identity, tenant, role, key, session and quota change, and every
 * failed login or denied request, leaves an audit event. One scenario drives each
 * through the real interfaces (HTTP and CLI); the table below says which event each
 * must leave, in which tenant's trail, with which outcome and kind of actor.
 */
interface Expected {
  readonly action: string;
  readonly tenant: string;
  readonly outcome: 'success' | 'failure' | 'denied';
  readonly actor_type: 'user' | 'api_key' | 'cli' | 'anonymous';
}

const row = (
  action: string,
  actor_type: Expected['actor_type'],
  outcome: Expected['outcome'] = 'success',
  tenant = 'acme',
): Expected => ({ action, tenant, outcome, actor_type });

const EXPECTED: readonly Expected[] = [
  row('tenant.created', 'api_key'),
  row('tenant.created', 'api_key', 'success', 'system'),
  row('user.added', 'api_key'),
  row('login.succeeded', 'user'),
  row('login.failed', 'anonymous', 'failure'),
  row('user.invited', 'user'),
  row('user.created', 'user', 'success', 'system'),
  row('invitation.accepted', 'user'),
  row('invitation.declined', 'user'),
  row('invitation.cancelled', 'user'),
  row('user.updated', 'user'),
  row('user.roles_changed', 'user'),
  row('user.deactivated', 'user'),
  row('user.activated', 'user'),
  row('mfa.reset', 'user'),
  row('team.created', 'user'),
  row('team.updated', 'user'),
  row('team.member_added', 'user'),
  row('team.member_removed', 'user'),
  row('team.deleted', 'user'),
  row('role.created', 'user'),
  row('role.updated', 'user'),
  row('role.deleted', 'user'),
  row('email.branding_updated', 'user'),
  row('email.template_updated', 'user'),
  row('email.template_reset', 'user'),
  row('api_key.created', 'user'),
  row('api_key.revoked', 'user'),
  row('oauth_client.created', 'user'),
  row('oauth_client.updated', 'user'),
  row('oauth_client.secret_rotated', 'user'),
  row('oauth_client.deleted', 'user'),
  row('password.change_failed', 'user', 'failure'),
  row('password.changed', 'user'),
  row('mfa.totp_enrollment_started', 'user'),
  row('mfa.totp_enrolled', 'user'),
  row('mfa.recovery_codes_regenerated', 'user'),
  row('mfa.totp_removed', 'user'),
  row('sessions.revoked', 'user'),
  row('session.revoked', 'user'),
  row('refresh_token.reused', 'anonymous', 'failure'),
  row('logout', 'user'),
  row('request.denied', 'api_key', 'denied'),
  row('quota.updated', 'api_key'),
  row('quota.exceeded', 'api_key', 'failure'),
  row('user.removed', 'user'),
  row('user.erased', 'user'),
  row('tenant.updated', 'api_key'),
  row('tenant.suspended', 'cli'),
  row('tenant.activated', 'cli'),
  row('signing_key.rotated', 'cli', 'success', 'system'),
  row('ip_filter.created', 'user'),
  row('ip_filter.removed', 'user'),
  row('ip_filter.created', 'api_key', 'success', 'system'),
  row('ip_filter.removed', 'api_key', 'success', 'system'),
  row('account.locked', 'anonymous'),
  row('account.unlocked', 'user'),
  row('login_ip.slowed', 'anonymous', 'success', 'system'),
  row('login_ip.cleared', 'api_key', 'success', 'system'),
];

const PASSWORD = 'correct horse battery staple';

async function ok(test: TenancyTestApp, method: string, url: string, as: unknown, body?: unknown) {
  const reply = await test.send(method, url, as as never, body);
  assert.ok(reply.status < 300, `${method} ${url}: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body;
}

/** The invitee signs in, accepts the invitation to acme; returns their id as acme sees it. */
async function acceptAs(test: TenancyTestApp, email: string, admin: unknown): Promise<string> {
  const login = await ok(test, 'POST', '/auth/login', null, {
    email,
    password: PASSWORD,
    tenant_id: 'acme',
  });
  const invitee = { token: String(login.access_token) };
  const listed = await ok(test, 'GET', '/auth/invitations', invitee);
  const [invitation] = listed.invitations as { id: string }[];
  await ok(test, 'POST', `/auth/invitations/${invitation?.id}/accept`, invitee);
  const found = await ok(test, 'GET', `/users?q=${encodeURIComponent(email)}`, admin);
  return String((found.users as { id: string }[])[0]?.id);
}

/** TOTP enrolled, confirmed (proving the factor), codes regenerated, TOTP removed. */
async function everyTotpAction(test: TenancyTestApp): Promise<void> {
  const login = await ok(test, 'POST', '/auth/login', null, {
    email: 'boss@acme.test',
    password: `${PASSWORD}!`,
    tenant_id: 'acme',
  });
  const boss = { token: String(login.access_token) };
  const { secret } = await ok(test, 'POST', '/auth/mfa/totp', boss);
  await ok(test, 'POST', '/auth/mfa/totp/confirm', boss, { code: totpCode(String(secret)) });
  await ok(test, 'POST', '/auth/mfa/recovery-codes', boss);
  await ok(test, 'DELETE', '/auth/mfa/totp', boss);
}

/** Performs every audited action once, as a platform admin, a tenant admin and the CLI. */
async function everyAction(test: TenancyTestApp): Promise<void> {
  const { platform } = test;
  await test.userWith('boss@acme.test', PASSWORD);
  await ok(test, 'POST', '/tenants', platform, {
    id: 'acme',
    name: 'Acme',
    plan: 'free',
    admin: { email: 'boss@acme.test' },
  });
  assert.equal(
    (
      await test.send('POST', '/auth/login', null, {
        email: 'boss@acme.test',
        password: 'wrong password!',
        tenant_id: 'acme',
      })
    ).status,
    401,
  );
  const login = await ok(test, 'POST', '/auth/login', null, {
    email: 'boss@acme.test',
    password: PASSWORD,
    tenant_id: 'acme',
  });
  const boss = { token: String(login.access_token) };

  const created = await ok(test, 'POST', '/users', boss, {
    email: 'dev@acme.test',
    name: 'Dev',
    roles: ['viewer'],
    password: PASSWORD,
  });
  assert.equal(created.status, 'invited');
  const dev = await acceptAs(test, 'dev@acme.test', boss);
  await ok(test, 'PATCH', `/users/${dev}`, boss, { name: 'Developer' });
  await ok(test, 'PUT', `/users/${dev}/roles`, boss, { roles: ['developer'] });
  await ok(test, 'POST', `/users/${dev}/deactivate`, boss);
  await ok(test, 'POST', `/users/${dev}/activate`, boss);
  await ok(test, 'DELETE', `/users/${dev}/mfa`, boss);
  // Two wrong passwords lock the account and slow the IP (lockout.max_failures = 2 here).
  for (let i = 0; i < 2; i++) {
    await test.send('POST', '/auth/login', null, {
      email: 'dev@acme.test',
      password: 'wrong password!',
      tenant_id: 'acme',
    });
  }
  await ok(test, 'DELETE', `/lockouts/users/${dev}`, boss);
  await ok(test, 'DELETE', '/lockouts/ips/127.0.0.1', platform);

  const team = await ok(test, 'POST', '/teams', boss, { name: 'Core' });
  await ok(test, 'PATCH', `/teams/${team.id}`, boss, { name: 'Core team' });
  await ok(test, 'PUT', `/teams/${team.id}/members/${dev}`, boss);
  await ok(test, 'DELETE', `/teams/${team.id}/members/${dev}`, boss);
  await ok(test, 'DELETE', `/teams/${team.id}`, boss);

  await ok(test, 'POST', '/roles', boss, { name: 'reader', permissions: ['events:read'] });
  await ok(test, 'PATCH', '/roles/reader', boss, { permissions: ['events:read', 'metrics:read'] });
  await ok(test, 'DELETE', '/roles/reader', boss);

  await ok(test, 'PUT', '/email/branding', boss, {
    product_name: 'Acme',
    logo_url: '',
    color: '#112233',
    support_email: '',
  });
  await ok(test, 'PUT', '/email/templates/magic_link', boss, {
    subject: 'Sign in to {{ product_name }}',
    text: '{{ link }}',
    html: '<a href="{{ link }}">Sign in</a>',
  });
  await ok(test, 'DELETE', '/email/templates/magic_link', boss);

  const key = await ok(test, 'POST', '/auth/api-keys', boss, { name: 'ci', role: 'viewer' });
  await ok(test, 'DELETE', `/auth/api-keys/${key.id}`, boss);
  const client = await ok(test, 'POST', '/oauth/clients', boss, {
    name: 'web',
    type: 'confidential',
    grant_types: ['authorization_code'],
    redirect_uris: ['https://app.acme.test/cb'],
    scopes: ['openid'],
  });
  await ok(test, 'PATCH', `/oauth/clients/${client.id}`, boss, { name: 'web app' });
  await ok(test, 'POST', `/oauth/clients/${client.id}/secret`, boss);
  await ok(test, 'DELETE', `/oauth/clients/${client.id}`, boss);

  assert.equal(
    (
      await test.send('POST', '/auth/password', boss, {
        current_password: 'not it at all',
        new_password: `${PASSWORD}!`,
      })
    ).status,
    401,
  );
  await ok(test, 'POST', '/auth/password', boss, {
    current_password: PASSWORD,
    new_password: `${PASSWORD}!`,
  });
  const third = await ok(test, 'POST', '/auth/login', null, {
    email: 'boss@acme.test',
    password: `${PASSWORD}!`,
    tenant_id: 'acme',
  });
  await ok(test, 'DELETE', '/auth/sessions', { token: String(third.access_token) });
  const fourth = await ok(test, 'POST', '/auth/login', null, {
    email: 'boss@acme.test',
    password: `${PASSWORD}!`,
    tenant_id: 'acme',
  });
  const sessions = await ok(test, 'GET', '/auth/sessions', { token: String(fourth.access_token) });
  const other = (sessions.sessions as { id: string; current: boolean }[]).find((s) => !s.current);
  if (other)
    await ok(test, 'DELETE', `/auth/sessions/${other.id}`, { token: String(fourth.access_token) });
  else await ok(test, 'DELETE', `/users/${dev}/sessions`, { token: String(fourth.access_token) });
  // A refresh token used twice ends its session.
  await ok(test, 'POST', '/auth/refresh', null, { refresh_token: fourth.refresh_token });
  const replay = await test.send('POST', '/auth/refresh', null, {
    refresh_token: fourth.refresh_token,
  });
  assert.equal(replay.status, 401);
  const fifth = await ok(test, 'POST', '/auth/login', null, {
    email: 'boss@acme.test',
    password: `${PASSWORD}!`,
    tenant_id: 'acme',
  });
  await ok(test, 'POST', '/auth/logout', { token: String(fifth.access_token) });
  await everyTotpAction(test);

  const viewer = await test.keyFor('acme', 'viewer');
  assert.equal((await test.send('GET', '/auth/api-keys', viewer)).status, 403);
  await ok(test, 'PUT', '/tenants/acme/quotas', platform, { preset: 'free' });
  await ok(test, 'PUT', '/tenants/acme/quotas', platform, {
    max_events_per_day: 1,
    max_storage_bytes: 0,
    max_queries_per_hour: 0,
    max_api_keys: 0,
    max_projections: 0,
    max_pipelines: 0,
    max_webhooks: 0,
  });
  const writer = await test.keyFor('acme', 'admin');
  const event = { events: [{ event_type: 'a', payload: 1 }] };
  await ok(test, 'POST', '/entities/e/events', writer, event);
  assert.equal((await test.send('POST', '/entities/e/events', writer, event)).status, 429);

  const admin2 = await ok(
    test,
    'POST',
    '/users',
    {
      token: String(
        (
          await ok(test, 'POST', '/auth/login', null, {
            email: 'boss@acme.test',
            password: `${PASSWORD}!`,
            tenant_id: 'acme',
          })
        ).access_token,
      ),
    },
    { email: 'temp@acme.test', name: 'Temp', roles: ['viewer'], password: PASSWORD },
  );
  assert.equal(admin2.status, 'invited');
  const bossAgain = await ok(test, 'POST', '/auth/login', null, {
    email: 'boss@acme.test',
    password: `${PASSWORD}!`,
    tenant_id: 'acme',
  });
  const temp = await acceptAs(test, 'temp@acme.test', { token: String(bossAgain.access_token) });
  await ok(
    test,
    'POST',
    '/users',
    { token: String(bossAgain.access_token) },
    {
      email: 'nope@acme.test',
      name: 'Nope',
      roles: ['viewer'],
      password: PASSWORD,
    },
  );
  const nope = await ok(test, 'POST', '/auth/login', null, {
    email: 'nope@acme.test',
    password: PASSWORD,
  });
  const nopeToken = { token: String(nope.access_token) };
  const [declined] = (await ok(test, 'GET', '/auth/invitations', nopeToken)).invitations as {
    id: string;
  }[];
  await ok(test, 'POST', `/auth/invitations/${declined?.id}/decline`, nopeToken);
  const bossNow = { token: String(bossAgain.access_token) };
  await ok(test, 'PUT', '/tenants/acme/members', bossNow, {
    email: 'maybe@acme.test',
    roles: ['viewer'],
  });
  const [withdrawn] = (await ok(test, 'GET', '/tenants/acme/invitations', bossNow)).invitations as {
    id: string;
  }[];
  await ok(test, 'DELETE', `/tenants/acme/invitations/${withdrawn?.id}`, bossNow);
  await ok(test, 'DELETE', `/users/${temp}`, { token: String(bossAgain.access_token) });

  const filter = await ok(
    test,
    'POST',
    '/ip-filters',
    { token: String(bossAgain.access_token) },
    {
      cidr: '192.0.2.0/24',
      action: 'block',
      reason: 'scanner',
    },
  );
  await ok(test, 'DELETE', `/ip-filters/${filter.id}`, { token: String(bossAgain.access_token) });
  const global = await ok(test, 'POST', '/ip-filters', platform, {
    cidr: '2001:db8::/32',
    action: 'block',
    reason: 'scanner',
    scope: 'global',
  });
  await ok(test, 'DELETE', `/ip-filters/${global.id}`, platform);

  await ok(test, 'PATCH', '/tenants/acme', platform, { name: 'Acme Inc' });
  const cli = (args: string[]) => runAdminCli(test.config.storage, args);
  assert.equal((await cli(['tenant', 'deactivate', 'acme'])).code, 0);
  assert.equal((await cli(['tenant', 'activate', 'acme'])).code, 0);
  await test.services.identity.keys.ensureKey();
  assert.equal((await cli(['keys', 'rotate'])).code, 0);
}

for (const engine of testEngines()) {
  describe(`audit completeness (${engine})`, () => {
    it('leaves the expected audit event for every audited action', async (t) => {
      const test = await tenancyTestApp(t, engine, {
        lockout: { max_failures: 2, ip_delay_ms: 1, ip_max_delay_ms: 1 },
        // A refresh token replayed at once must count as a reuse here.
        auth: { refresh_grace_seconds: 0 },
      });
      await everyAction(test);
      const trails = new Map<string, { action: string; outcome: string; actor_type: string }[]>();
      for (const tenant of ['acme', 'system']) {
        const auditor = tenant === 'system' ? test.platform : await test.keyFor(tenant, 'auditor');
        const reply = await test.send('GET', '/audit?order=asc&limit=1000', auditor);
        trails.set(
          tenant,
          (
            reply.body.events as {
              payload: { action: string; outcome: string; actor_type: string };
            }[]
          ).map((e) => e.payload),
        );
      }
      const missing = EXPECTED.filter(
        (want) =>
          !trails
            .get(want.tenant)
            ?.some(
              (got) =>
                got.action === want.action &&
                got.outcome === want.outcome &&
                got.actor_type === want.actor_type,
            ),
      );
      assert.deepEqual(missing, [], `trails: ${JSON.stringify(Object.fromEntries(trails))}`);
      // Nothing secret anywhere in either trail: passwords, key secrets (a key's
      // prefix, shown in listings, is not one), refresh tokens, client secrets.
      const text = JSON.stringify(Object.fromEntries(trails));
      assert.doesNotMatch(text, /correct horse|tsk_[\w-]{12,}|tsr_|tcs_/);
    });

    it('every email flow leaves its events, and never a link token', async (t) => {
      const sink = await startSmtpSink();
      t.after(() => sink.close());
      const test = await tenancyTestApp(t, engine, {
        email: { transport: 'smtp', smtp_url: sink.url },
        rate_limits: { enabled: false },
      });
      const boss = await test.keyFor('acme');
      await test.userWith('ada@acme.test', PASSWORD);
      await ok(test, 'POST', '/users', boss, {
        email: 'ada@acme.test',
        name: 'Ada',
        roles: ['admin'],
      });
      const ada = await test.acceptInvitation('ada@acme.test', PASSWORD, 'acme');
      const send = (path: string, body: object, as: Parameters<typeof test.send>[2] = null) =>
        test.send('POST', path, as, body);
      const link = async (to: string, template: string, path: string) =>
        tokenFrom(await sink.waitFor(to, template), path);

      assert.equal((await send('/auth/email/verify/request', {}, ada)).status, 202);
      const verify = await link('ada@acme.test', 'verify_email', '/auth/email/verify');
      assert.equal((await send('/auth/email/verify', { token: verify })).status, 200);
      assert.equal((await send('/auth/email/verify', { token: verify })).status, 400);

      assert.equal(
        (await send('/auth/password/forgot', { email: 'nobody@acme.test' })).status,
        202,
      );
      assert.equal((await send('/auth/password/forgot', { email: 'ada@acme.test' })).status, 202);
      const reset = await link('ada@acme.test', 'reset_password', '/auth/password/reset');
      const renewed = { token: reset, new_password: `${PASSWORD} again` };
      assert.equal((await send('/auth/password/reset', renewed)).status, 204);
      assert.equal((await send('/auth/password/reset', renewed)).status, 400);

      const ask = { email: 'ada@acme.test', tenant_id: 'acme' };
      assert.equal((await send('/auth/magic-link', ask)).status, 202);
      const magic = await link('ada@acme.test', 'magic_link', '/auth/magic-link');
      assert.equal((await send('/auth/magic-link/verify', { token: magic })).status, 200);
      assert.equal((await send('/auth/magic-link/verify', { token: magic })).status, 400);

      const invited = await send('/invitations', { email: 'cy@acme.test', role: 'viewer' }, boss);
      assert.equal(invited.status, 202);
      await sink.waitFor('cy@acme.test', 'invitation');
      await ok(test, 'POST', `/invitations/${invited.body.id}/resend`, boss);
      await until(() => sink.to('cy@acme.test').length === 2, 'the resent invitation arrives');
      const invitation = tokenFrom(sink.to('cy@acme.test')[1] as never, '/auth/invitations/accept');
      const accept = { token: invitation, password: PASSWORD, name: 'Cy' };
      assert.equal((await send('/auth/invitations/accept', accept)).status, 200);
      assert.equal((await send('/auth/invitations/accept', accept)).status, 400);

      const events = new Map<string, { action: string; outcome: string }[]>();
      for (const tenant of ['acme', 'system']) {
        const auditor = tenant === 'system' ? test.platform : await test.keyFor(tenant, 'auditor');
        const reply = await test.send('GET', '/audit?order=asc&limit=1000', auditor);
        events.set(
          tenant,
          (reply.body.events as { payload: { action: string; outcome: string } }[]).map(
            (e) => e.payload,
          ),
        );
      }
      const has = (tenant: string, action: string, outcome = 'success') =>
        events.get(tenant)?.some((e) => e.action === action && e.outcome === outcome);
      for (const [tenant, action, outcome] of [
        ['acme', 'email.verification_requested'],
        ['acme', 'email.verified'],
        ['system', 'email.verification_failed', 'failure'],
        ['system', 'password.reset_requested', 'failure'],
        ['acme', 'password.reset_requested'],
        ['acme', 'password.reset'],
        ['system', 'password.reset_failed', 'failure'],
        ['acme', 'magic_link.requested'],
        ['acme', 'magic_link.used'],
        ['system', 'magic_link.used', 'failure'],
        ['acme', 'user.invited'],
        ['acme', 'invitation.resent'],
        ['acme', 'invitation.accepted'],
        ['system', 'invitation.accept_failed', 'failure'],
      ] as const) {
        assert.ok(has(tenant, action, outcome), `${action} (${outcome ?? 'success'}) in ${tenant}`);
      }
      // The links' tokens never reach a trail, whatever their prefix.
      const text = JSON.stringify(Object.fromEntries(events));
      assert.doesNotMatch(text, /ts[vpmi]_[\w-]{12,}|correct horse/);
    });

    it('records a self-service registration in the platform trail', async (t) => {
      const test = await buildTestApp({ auth: { registration: 'open' } }, engine, { actAs: false });
      t.after(() => test.close());
      const registered = await test.app.inject({
        method: 'POST',
        url: '/api/v1/auth/register',
        payload: { email: 'new@else.test', password: PASSWORD },
      });
      assert.equal(registered.statusCode, 202);
      const user = await test.services.identity.users.findByEmail('new@else.test');
      const platform = { 'x-api-key': await apiKeyFor(test.services, 'system', 'admin') };
      const trail = await test.app.inject({ url: '/api/v1/audit', headers: platform });
      const [event] = trail.json().events as { payload: Record<string, unknown> }[];
      assert.equal(event?.payload.action, 'user.registered');
      assert.equal(event?.payload.target, `user:${user?.id}`);
      assert.deepEqual(event?.payload.details, {
        email: 'new@else.test',
        tenant_id: null,
        verification_sent: false,
      });
    });
  });
}
