import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { totpCode } from '../../../test/helpers/totp.ts';
import type { MfaPolicy } from '../../access/mfa-policy.ts';
import {
  createInteractionEnrollment,
  type InteractionEnrollment,
} from './interaction-enrollment.ts';

/**
 * The hosted sign-in's TOTP enrollment (issue 19) without a browser: when it is due
 * (the tenant's policy covers the session's user, who has no factor), and that
 * confirming it marks the very session the grant will be bound to.
 */
describe('the TOTP enrollment of the hosted sign-in', () => {
  let test: TestApp;
  let enrollment: InteractionEnrollment;
  const CONTEXT = {
    actor: null,
    actor_type: 'anonymous',
    ip: null,
    user_agent: null,
    request_id: null,
  } as const;

  before(async () => {
    test = await buildTestApp({ rate_limits: { enabled: false } }, 'sqlite', { actAs: false });
    const { identity } = test.services;
    enrollment = createInteractionEnrollment({
      sessions: identity.sessions,
      customRoles: identity.guard.customRoles,
      hasFactor: (userId) => identity.guard.mfa?.hasFactor(userId) ?? Promise.resolve(false),
      totp: identity.totp,
    });
  });
  after(() => test?.close());

  /** A session of a new user with `roles` in a new tenant whose policy is `policy`. */
  async function sessionIn(policy: MfaPolicy, roles: string[]): Promise<string> {
    const tenant = `t-${policy}-${roles.join('-')}-${Math.random().toString(36).slice(2, 8)}`;
    await test.services.tenancy.tenants.create({ id: tenant, name: tenant, plan: 'unlimited' });
    await test.db.kysely
      .updateTable('tenants')
      .set({ mfa_required: policy })
      .where('id', '=', tenant)
      .execute();
    const user = await test.services.identity.users.createUser({ email: `${tenant}@example.com` });
    await test.services.tenancy.memberships.grant(tenant, user.id, roles);
    return (await test.services.identity.sessions.start(user.id, tenant)).session_id;
  }

  it('is due where the policy covers the user and they have no factor', async () => {
    assert.equal(await enrollment.due(await sessionIn('all', ['viewer'])), true);
    assert.equal(await enrollment.due(await sessionIn('admins', ['admin'])), true);
    assert.equal(await enrollment.due(await sessionIn('admins', ['viewer'])), false);
    assert.equal(await enrollment.due(await sessionIn('off', ['admin'])), false);
    assert.equal(await enrollment.due('no-such-session'), false);
  });

  it('a wrong code is refused; the right one marks the session, and is due no more', async () => {
    const sessionId = await sessionIn('all', ['viewer']);
    const started = await enrollment.start(sessionId, CONTEXT);
    assert.match(started.qr_code, /^data:image\/png;base64,/);
    const wrong = totpCode(started.secret, Date.now(), 5);
    await assert.rejects(enrollment.confirm(sessionId, wrong, CONTEXT), {
      code: 'mfa_code_invalid',
    });
    const codes = await enrollment.confirm(sessionId, totpCode(started.secret), CONTEXT);
    assert.equal(codes.length, 10);
    const session = await test.services.identity.sessions.find(sessionId);
    assert.notEqual(session?.second_factor_ms, null);
    assert.ok(session?.amr.includes('otp') && session.amr.includes('mfa'), String(session?.amr));
    assert.equal(await enrollment.due(sessionId), false);
  });

  it('an ended session enrolls nothing', async () => {
    const sessionId = await sessionIn('all', ['viewer']);
    await test.services.identity.sessions.revoke(sessionId, 'test');
    await assert.rejects(enrollment.start(sessionId, CONTEXT), { code: 'session_revoked' });
  });
});
