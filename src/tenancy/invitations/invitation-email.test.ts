import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ACCEPT_PATH,
  type InvitationTestApp,
  invitationTestApp,
  suiteScope,
} from '../../../test/helpers/invitation-fixture.ts';
import { tenancyTestApp } from '../../../test/helpers/tenancy-fixture.ts';
import { PASSWORD } from '../../../test/helpers/tenancy-users-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';

type Json = Record<string, unknown>;

/**
 * Issue 17, invitations by email, the inviting side: `POST /invitations` emails a
 * link that makes a usable account; resend and revoke kill the earlier link; nobody
 * invites above their own power; another tenant's invitations stay out of reach.
 */
for (const engine of testEngines()) {
  describe(`invitations by email (${engine})`, () => {
    // One app for the suite: each test works in tenants and addresses of its own.
    const scope = suiteScope();
    let app: InvitationTestApp;
    before(async () => {
      app = await invitationTestApp(scope, engine, { auth: { invitation_ttl_seconds: 3600 } });
    });
    after(() => scope.close());

    it('invites a new address by email; its link sets up an account holding the role and teams', async () => {
      const { send } = app;
      const ada = await app.member('acme', 'ada@example.com', ['admin']);
      await app.send('PATCH', `/users/${ada.id}`, ada.token, { name: 'Ada' });
      const team = await send('POST', '/teams', ada.token, { name: 'Core' });
      const before = Date.now();
      const invited = await app.invite(ada.token, 'New@Example.com', 'developer', [
        String(team.body.id),
      ]);
      assert.equal(invited.status, 202, JSON.stringify(invited.body));
      assert.equal(invited.body.status, 'invited');
      assert.equal(invited.body.email, 'new@example.com');
      assert.deepEqual(invited.body.roles, ['developer']);
      assert.deepEqual(invited.body.team_ids, [team.body.id]);
      // auth.invitation_ttl_seconds, not a fixed week.
      const expires = Date.parse(String(invited.body.expires_at));
      assert.ok(expires >= before + 3_600_000 && expires <= Date.now() + 3_600_000);

      const mail = await app.mail('new@example.com', 'invitation');
      assert.match(mail.subject, /invited to acme/);
      assert.match(mail.text, /Ada invites new@example\.com to join acme .* as developer/s);
      assert.match(mail.text, /Accept within 1 hour/);
      const token = await app.invitationToken('new@example.com');

      const listed = await send('GET', '/invitations', ada.token);
      assert.equal(listed.status, 200);
      const [row] = listed.body.invitations as Json[];
      assert.deepEqual(
        [row?.id, row?.email, row?.roles, row?.team_ids, row?.invited_by],
        [invited.body.id, 'new@example.com', ['developer'], [team.body.id], ada.id],
      );

      const accepted = await app.acceptLink({ token, password: PASSWORD, name: 'Nia' });
      assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
      assert.equal(accepted.body.tenant_id, 'acme');
      assert.equal(accepted.body.token_type, 'Bearer');
      const nia = { token: String(accepted.body.access_token) };
      const me = await send('GET', '/auth/me', nia);
      assert.deepEqual(me.body.roles, ['developer']);
      assert.equal((me.body.user as Json).name, 'Nia');
      assert.equal((me.body.user as Json).email_verified, true, 'the link proves the address');
      assert.equal((await send('GET', '/entities/e/events', nia)).status, 200);
      const members = await send('GET', `/teams/${String(team.body.id)}`, ada.token);
      assert.deepEqual(
        (members.body.members as Json[]).map((m) => m.email),
        ['new@example.com'],
      );
      // The refresh token works, and the password signs in.
      const refreshed = await send('POST', '/auth/refresh', null, {
        refresh_token: accepted.body.refresh_token,
      });
      assert.equal(refreshed.status, 200);
      await app.login('new@example.com', PASSWORD, 'acme');
      assert.deepEqual((await send('GET', '/invitations', ada.token)).body.invitations, []);

      const trail = await app.audit('acme', '');
      const actions = trail.map((e) => e.action);
      for (const action of ['user.invited', 'invitation.accepted', 'team.member_added']) {
        assert.ok(actions.includes(action), `${action} in ${actions.join(', ')}`);
      }
      const acceptedEvent = trail.find((e) => e.action === 'invitation.accepted');
      assert.equal(acceptedEvent?.actor_type, 'user');
      assert.deepEqual(acceptedEvent?.details.team_ids, [team.body.id]);
      assert.doesNotMatch(JSON.stringify(trail), /tsi_/, 'no token in the trail');
    });

    it('resends with a new link (the old one dies) and revokes, audited', async () => {
      const { send } = app;
      const admin = await app.keyFor('bolt');
      const invited = await app.invite(admin, 'ivy@example.com', 'viewer');
      const id = String(invited.body.id);
      const first = await app.invitationToken('ivy@example.com');

      const resent = await send('POST', `/invitations/${id}/resend`, admin);
      assert.equal(resent.status, 200, JSON.stringify(resent.body));
      assert.equal(resent.body.id, id);
      const second = await app.invitationToken('ivy@example.com', 2);
      assert.notEqual(second, first);
      const old = await app.acceptLink({ token: first, password: PASSWORD });
      assert.equal(old.status, 400);
      assert.equal(old.body.code, 'email_token_invalid');

      assert.equal((await send('DELETE', `/invitations/${id}`, admin)).status, 204);
      const revoked = await app.acceptLink({ token: second, password: PASSWORD });
      assert.equal(revoked.body.code, 'email_token_invalid');
      for (const [method, path] of [
        ['DELETE', `/invitations/${id}`],
        ['POST', `/invitations/${id}/resend`],
      ] as const) {
        const gone = await send(method, path, admin);
        assert.deepEqual([gone.status, gone.body.code], [404, 'invitation_not_found']);
      }
      const actions = (await app.audit('bolt', 'invitation.')).map((e) => e.action);
      assert.deepEqual(actions, ['invitation.resent', 'invitation.cancelled']);
      // Uses of links that match no invitation: the platform's trail.
      const failed = await app.audit('system', 'invitation.accept_failed');
      assert.ok(failed.length >= 2);
      assert.ok(failed.every((e) => e.details.reason === 'email_token_invalid'));
    });

    it('keeps tenants and permissions apart', async () => {
      const { send } = app;
      const acme = await app.keyFor('cove');
      const beta = await app.keyFor('dune');
      const viewer = await app.keyFor('cove', 'viewer');
      const invited = await app.invite(acme, 'iris@example.com', 'viewer');
      const id = String(invited.body.id);

      // A key without members:manage is refused before anything is read.
      for (const [method, path, body] of [
        ['POST', '/invitations', { email: 'x@example.com', role: 'viewer' }],
        ['GET', '/invitations', undefined],
        ['DELETE', `/invitations/${id}`, undefined],
        ['POST', `/invitations/${id}/resend`, undefined],
      ] as const) {
        const refused = await send(method, path, viewer, body);
        assert.deepEqual(
          [refused.status, refused.body.code, refused.body.permission],
          [403, 'permission_denied', 'members:manage'],
          `${method} ${path}`,
        );
      }
      // Another tenant's admin finds no such invitation, and lists none.
      for (const [method, path] of [
        ['DELETE', `/invitations/${id}`],
        ['POST', `/invitations/${id}/resend`],
      ] as const) {
        const other = await send(method, path, beta);
        assert.deepEqual([other.status, other.body.code], [404, 'invitation_not_found']);
      }
      assert.deepEqual((await send('GET', '/invitations', beta)).body.invitations, []);
      // Another tenant's team is no team here.
      const betaTeam = await send('POST', '/teams', beta, { name: 'Beta team' });
      const foreign = await app.invite(acme, 'tom@example.com', 'viewer', [
        String(betaTeam.body.id),
      ]);
      assert.deepEqual([foreign.status, foreign.body.code], [404, 'team_not_found']);
      assert.equal(await app.outboxCount('tom@example.com'), 0);
      // A member is no invitee: the 409 of the member routes.
      await app.member('cove', 'mia@example.com', ['viewer']);
      const member = await app.invite(acme, 'MIA@example.com', 'viewer');
      assert.deepEqual([member.status, member.body.code], [409, 'member_exists']);
      // Unknown role, malformed bodies: 400, nothing sent.
      const unknown = await app.invite(acme, 'una@example.com', 'wizard');
      assert.deepEqual([unknown.status, unknown.body.code], [400, 'invalid_roles']);
      const malformed = await send('POST', '/invitations', acme, { email: 'una@example.com' });
      assert.equal(malformed.body.code, 'validation_failed');
      assert.equal(await app.outboxCount('una@example.com'), 0);
      // Still only acme's one invitation, still acme's.
      const listed = (await send('GET', '/invitations', acme)).body.invitations as Json[];
      assert.deepEqual(
        listed.map((i) => i.email),
        ['iris@example.com'],
      );
    });

    it('invites to no role stronger than the inviter’s, nor into teams without teams:manage', async () => {
      const { send } = app;
      const admin = await app.keyFor('edge');
      const role = await send('POST', '/roles', admin, {
        name: 'recruiter',
        permissions: ['members:manage', 'events:read'],
      });
      assert.equal(role.status, 201);
      const rex = await app.member('edge', 'rex@example.com', ['recruiter']);
      const stronger = await app.invite(rex.token, 'boss@example.com', 'admin');
      assert.deepEqual([stronger.status, stronger.body.code], [403, 'role_not_delegable']);
      const team = await send('POST', '/teams', admin, { name: 'Core' });
      const placed = await app.invite(rex.token, 'pal@example.com', 'recruiter', [
        String(team.body.id),
      ]);
      assert.deepEqual(
        [placed.status, placed.body.code, placed.body.permission],
        [403, 'permission_denied', 'teams:manage'],
      );
      assert.equal(await app.outboxCount('boss@example.com'), 0);
      assert.equal(await app.outboxCount('pal@example.com'), 0);
      assert.equal(await app.services.identity.users.findByEmail('boss@example.com'), undefined);
      // The inviter's equal is fine; resending an admin's invitation is granting admin.
      assert.equal((await app.invite(rex.token, 'peer@example.com', 'recruiter')).status, 202);
      const boss = await app.invite(admin, 'boss@example.com', 'admin');
      const resend = await send('POST', `/invitations/${String(boss.body.id)}/resend`, rex.token);
      assert.deepEqual([resend.status, resend.body.code], [403, 'role_not_delegable']);
      await app.mail('boss@example.com', 'invitation');
      assert.equal(await app.outboxCount('boss@example.com'), 1, 'the refused resend sent nothing');
    });

    it('emails POST /users invitations when email is on; without email, 503 here and POST /users as before', async (t) => {
      const admin = await app.keyFor('fern');
      const created = await app.send('POST', '/users', admin, {
        email: 'una@example.com',
        name: 'Una',
        roles: ['viewer'],
      });
      assert.equal(created.status, 202, JSON.stringify(created.body));
      const mail = await app.mail('una@example.com', 'invitation');
      assert.match(mail.text, new RegExp(`${ACCEPT_PATH}\\?token=tsi_`));

      const off = await tenancyTestApp(t, engine);
      const key = await off.keyFor('acme');
      const refused = await off.send('POST', '/invitations', key, {
        email: 'ned@example.com',
        role: 'viewer',
      });
      assert.deepEqual([refused.status, refused.body.code], [503, 'email_not_configured']);
      assert.equal(await off.services.identity.users.findByEmail('ned@example.com'), undefined);
      const viaUsers = await off.send('POST', '/users', key, {
        email: 'ned@example.com',
        name: 'Ned',
        roles: ['viewer'],
      });
      assert.equal(viaUsers.status, 202);
      const [pending] = (await off.send('GET', '/invitations', key)).body.invitations as Json[];
      const resend = await off.send('POST', `/invitations/${String(pending?.id)}/resend`, key);
      assert.deepEqual([resend.status, resend.body.code], [503, 'email_not_configured']);
      const [row] = await off.db.kysely
        .selectFrom('invitations')
        .select(['token_digest', 'expires_ms'])
        .execute();
      assert.equal(row?.token_digest, null, 'no email, no link; the refused resend made none');
      assert.equal(new Date(Number(row?.expires_ms)).toISOString(), pending?.expires_at);
    });
  });
}
