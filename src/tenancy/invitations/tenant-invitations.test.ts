import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Credential } from '../../../test/helpers/tenancy-fixture.ts';
import { PASSWORD, usersTestApp } from '../../../test/helpers/tenancy-users-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';

type Json = Record<string, unknown>;

/**
 * Issue 15, item 1 continued: the inviting tenant's side (`/tenants/{id}/invitations`),
 * and a session opened only to answer an invitation ends with the answer no.
 */
for (const engine of testEngines()) {
  describe(`a tenant's pending invitations (${engine})`, () => {
    it('lists them alike for known and unknown emails, by page, without expired ones', async (t) => {
      const app = await usersTestApp(t, engine);
      const { send, member, keyFor } = app;
      const admin = await keyFor('acme');
      await member('beta', 'known@example.com', ['admin']);
      const emails = ['known@example.com', 'new@example.com', 'other@example.com'];
      for (const email of emails) {
        const put = await send('PUT', '/tenants/acme/members', admin, { email, roles: ['viewer'] });
        assert.equal(put.status, 202, JSON.stringify(put.body));
      }
      const listed = await send('GET', '/tenants/acme/invitations', admin);
      assert.equal(listed.status, 200, JSON.stringify(listed.body));
      const all = listed.body.invitations as Json[];
      assert.deepEqual(all.map((i) => i.email).sort(), emails);
      assert.equal(listed.body.next_cursor, null);
      // Known and new identities look the same: the same fields, the same values.
      const blank = (i: Json) => ({ ...i, id: '', email: '', created_at: '', expires_at: '' });
      for (const invitation of all) assert.deepEqual(blank(invitation), blank(all[0] as Json));
      assert.deepEqual(Object.keys(all[0] as Json).sort(), [
        'created_at',
        'email',
        'expires_at',
        'id',
        'invited_by',
        'roles',
        'team_ids',
      ]);
      assert.deepEqual((all[0] as Json).roles, ['viewer']);
      assert.equal(typeof (all[0] as Json).invited_by, 'string');

      const first = await send('GET', '/tenants/acme/invitations?limit=2', admin);
      assert.equal((first.body.invitations as Json[]).length, 2);
      assert.equal(typeof first.body.next_cursor, 'string');
      const rest = await send(
        'GET',
        `/tenants/acme/invitations?limit=2&after=${String(first.body.next_cursor)}`,
        admin,
      );
      assert.equal(rest.body.next_cursor, null);
      const paged = [...(first.body.invitations as Json[]), ...(rest.body.invitations as Json[])];
      assert.deepEqual(
        paged.map((i) => i.id),
        all.map((i) => i.id),
      );

      // An expired invitation is neither listed nor cancellable; an accepted one is gone.
      const expiredId = String(all.find((i) => i.email === 'other@example.com')?.id);
      await app.db.kysely
        .updateTable('invitations')
        .set({ expires_ms: Date.now() - 1 })
        .where('id', '=', expiredId)
        .execute();
      await app.accept('known@example.com', 'acme');
      const left = await send('GET', '/tenants/acme/invitations', admin);
      assert.deepEqual(
        (left.body.invitations as Json[]).map((i) => i.email),
        ['new@example.com'],
      );
      const gone = await send('DELETE', `/tenants/acme/invitations/${expiredId}`, admin);
      assert.equal(gone.status, 404);
      assert.equal(gone.body.code, 'invitation_not_found');
    });

    it('cancels within the tenant only, audited, and refuses others', async (t) => {
      const app = await usersTestApp(t, engine);
      const { send, member, keyFor, platform } = app;
      const admin = await keyFor('acme');
      const bea = await member('beta', 'bea@example.com', ['admin']);
      const developer = await keyFor('acme', 'developer');
      await app.userWith('ivy@example.com', PASSWORD);
      await send('PUT', '/tenants/acme/members', admin, {
        email: 'ivy@example.com',
        roles: ['viewer'],
      });
      const [invitation] = (await send('GET', '/tenants/acme/invitations', admin)).body
        .invitations as Json[];
      const url = `/tenants/acme/invitations/${String(invitation?.id)}`;

      // Another tenant's admin and a developer are refused before any lookup.
      for (const as of [bea.token, developer]) {
        for (const [method, path] of [
          ['GET', '/tenants/acme/invitations'],
          ['DELETE', url],
        ] as const) {
          const reply = await send(method, path, as);
          assert.equal(reply.status, 403, `${method} ${path}`);
          assert.equal(reply.body.code, 'permission_denied');
          assert.equal(reply.body.permission, 'members:manage');
        }
      }
      // Through her own tenant, Bea finds no such invitation.
      const viaBeta = await send(
        'DELETE',
        `/tenants/beta/invitations/${String(invitation?.id)}`,
        bea.token,
      );
      assert.equal(viaBeta.status, 404);
      assert.equal(viaBeta.body.code, 'invitation_not_found');
      assert.deepEqual((await send('GET', '/tenants/beta/invitations', bea.token)).body, {
        invitations: [],
        next_cursor: null,
      });
      // A platform administrator sees any tenant's; an unknown tenant is 404.
      const byPlatform = await send('GET', '/tenants/acme/invitations', platform);
      assert.equal((byPlatform.body.invitations as Json[]).length, 1);
      const nowhere = await send('GET', '/tenants/nowhere/invitations', platform);
      assert.equal(nowhere.body.code, 'tenant_not_found');

      assert.equal((await send('DELETE', url, admin)).status, 204);
      const again = await send('DELETE', url, admin);
      assert.equal(again.status, 404);
      assert.equal(again.body.code, 'invitation_not_found');
      const ivy = await send('POST', '/auth/login', null, {
        email: 'ivy@example.com',
        password: PASSWORD,
      });
      assert.equal(ivy.status, 403, 'no membership and no invitation left');
      const trail = await app.audit('acme', 'invitation.');
      assert.deepEqual(
        trail.map((e) => [e.action, e.actor_type, e.details.invitation_id, e.details.roles]),
        [['invitation.cancelled', 'api_key', invitation?.id, ['viewer']]],
      );
    });

    it('lets exactly one of a cancel and an accept use the invitation', async (t) => {
      const app = await usersTestApp(t, engine);
      const { send, member, keyFor } = app;
      const admin = await keyFor('acme');
      const vic = await member('beta', 'vic@example.com', ['viewer']);
      await send('PUT', '/tenants/acme/members', admin, {
        email: 'vic@example.com',
        roles: ['viewer'],
      });
      const [invitation] = (await send('GET', '/auth/invitations', vic.token)).body
        .invitations as Json[];
      const id = String(invitation?.id);
      const [cancelled, accepted] = await Promise.all([
        send('DELETE', `/tenants/acme/invitations/${id}`, admin),
        send('POST', `/auth/invitations/${id}/accept`, vic.token),
      ]);
      const statuses = [cancelled.status, accepted.status];
      assert.equal(statuses.filter((s) => s < 300).length, 1, JSON.stringify(statuses));
      assert.equal(statuses.filter((s) => s === 404).length, 1, JSON.stringify(statuses));
      const members = (await send('GET', '/tenants/acme/members', admin)).body.members as Json[];
      assert.equal(members.length, accepted.status === 200 ? 1 : 0);
      assert.equal((await app.audit('acme', 'invitation.')).length, 1);
    });

    it('needs the power of the invited roles to cancel', async (t) => {
      const app = await usersTestApp(t, engine);
      const { send, member, keyFor } = app;
      const admin = await keyFor('acme');
      const role = await send('POST', '/roles', admin, {
        name: 'recruiter',
        permissions: ['members:manage', 'events:read'],
      });
      assert.equal(role.status, 201, JSON.stringify(role.body));
      const rex = await member('acme', 'rex@example.com', ['recruiter']);
      const invite = (as: Credential, email: string, roles: string[]) =>
        send('PUT', '/tenants/acme/members', as, { email, roles });
      assert.equal((await invite(admin, 'boss@example.com', ['admin'])).status, 202);
      assert.equal((await invite(rex.token, 'peer@example.com', ['recruiter'])).status, 202);
      const listed = (await send('GET', '/tenants/acme/invitations', rex.token)).body
        .invitations as Json[];
      const idOf = (email: string) => String(listed.find((i) => i.email === email)?.id);

      const stronger = await send(
        'DELETE',
        `/tenants/acme/invitations/${idOf('boss@example.com')}`,
        rex.token,
      );
      assert.equal(stronger.status, 403);
      assert.equal(stronger.body.code, 'role_not_delegable');
      const peer = await send(
        'DELETE',
        `/tenants/acme/invitations/${idOf('peer@example.com')}`,
        rex.token,
      );
      assert.equal(peer.status, 204);
      const after = (await send('GET', '/tenants/acme/invitations', admin)).body
        .invitations as Json[];
      assert.deepEqual(
        after.map((i) => i.email),
        ['boss@example.com'],
        'the refused cancel changed nothing',
      );
      const trail = await app.audit('acme', 'invitation.');
      assert.equal(trail.length, 1);
    });

    it('ends the sessions opened only to answer, once declined or cancelled', async (t) => {
      const app = await usersTestApp(t, engine);
      const { send, member, keyFor } = app;
      const bea = await member('beta', 'bea@example.com', ['admin']);
      const alice = await member('acme', 'alice@example.com', ['admin']);
      await app.userWith('lone@example.com', PASSWORD);
      await app.userWith('gone@example.com', PASSWORD);
      for (const email of ['lone@example.com', 'gone@example.com', 'alice@example.com']) {
        await send('PUT', '/tenants/beta/members', bea.token, { email, roles: ['viewer'] });
      }
      const signIn = async (email: string) => {
        const reply = await send('POST', '/auth/login', null, { email, password: PASSWORD });
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        assert.equal(reply.body.tenant_id, 'beta');
        return {
          token: { token: String(reply.body.access_token) },
          refresh: String(reply.body.refresh_token),
        };
      };
      const invitationOf = async (as: Credential) =>
        String(((await send('GET', '/auth/invitations', as)).body.invitations as Json[])[0]?.id);

      // Declined: both of Lone's sessions in beta end, access and refresh alike.
      const [one, two] = [await signIn('lone@example.com'), await signIn('lone@example.com')];
      const declined = await send(
        'POST',
        `/auth/invitations/${await invitationOf(one.token)}/decline`,
        one.token,
      );
      assert.equal(declined.status, 204);
      for (const session of [one, two]) {
        const me = await send('GET', '/auth/me', session.token);
        assert.equal(me.status, 401);
        assert.equal(me.body.code, 'session_revoked');
        const refreshed = await send('POST', '/auth/refresh', null, {
          refresh_token: session.refresh,
        });
        assert.equal(refreshed.status, 401);
      }
      const [decline] = await app.audit('beta', 'invitation.declined');
      assert.ok(decline);
      assert.equal((decline.details.sessions_revoked as string[]).length, 2);

      // Cancelled by the tenant: the same.
      const gone = await signIn('gone@example.com');
      const cancelId = String(
        (
          (await send('GET', '/tenants/beta/invitations', bea.token)).body.invitations as Json[]
        ).find((i) => i.email === 'gone@example.com')?.id,
      );
      assert.equal(
        (await send('DELETE', `/tenants/beta/invitations/${cancelId}`, bea.token)).status,
        204,
      );
      assert.equal((await send('GET', '/auth/me', gone.token)).status, 401);

      // A member elsewhere who declines keeps that tenant's session.
      const mine = await invitationOf(alice.token);
      assert.equal(
        (await send('POST', `/auth/invitations/${mine}/decline`, alice.token)).status,
        204,
      );
      assert.equal((await send('GET', '/auth/me', alice.token)).status, 200);
      assert.equal((await send('GET', '/tenants/acme/members', await keyFor('acme'))).status, 200);
    });
  });
}
