import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { type Credential, tenancyTestApp } from '../../../test/helpers/tenancy-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';
import type { Engine } from '../../storage/database.ts';

interface AuditPayload {
  action: string;
  actor: string | null;
  actor_type: string;
  target: string | null;
  outcome: string;
  details: Record<string, unknown>;
}

/** A tenant `acme` whose admin is a logged-in user (so audit events name a user id). */
async function setUp(t: TestContext, engine: Engine) {
  const app = await tenancyTestApp(t, engine);
  await app.keyFor('acme');
  await app.keyFor('globex');
  const member = async (tenant: string, email: string, roles: string[]) => {
    const id = await app.userWith(email, 'a long enough password');
    await app.services.tenancy.memberships.grant(tenant, id, roles);
    return id;
  };
  const adminId = await member('acme', 'ada@example.com', ['admin']);
  const admin = await app.login('ada@example.com', 'a long enough password', 'acme');
  /** The `team.*` events of the caller's tenant's audit trail, oldest first. */
  const teamAudit = async (as: Credential = admin): Promise<AuditPayload[]> => {
    const payloads: AuditPayload[] = [];
    let cursor: number | null = null;
    do {
      const after: string = cursor === null ? '' : `&after=${cursor}`;
      const reply = await app.send('GET', `/audit?order=asc&limit=1000${after}`, as);
      assert.equal(reply.status, 200);
      for (const event of reply.body.events as { payload: AuditPayload }[]) {
        payloads.push(event.payload);
      }
      cursor = reply.body.next_cursor as number | null;
    } while (cursor !== null);
    return payloads.filter((payload) => payload.action.startsWith('team.'));
  };
  return { ...app, member, adminId, admin, teamAudit };
}

for (const engine of testEngines()) {
  describe(`team member routes (${engine})`, () => {
    it('puts tenant members in a team idempotently and takes them out', async (t) => {
      const { send, member, admin } = await setUp(t, engine);
      const bobId = await member('acme', 'bob@example.com', ['viewer']);
      const team = await send('POST', '/teams', admin, { name: 'Ops', description: '' });
      assert.equal(team.body.description, null);
      const url = `/teams/${team.body.id}/members/${bobId}`;
      const added = await send('PUT', url, admin);
      assert.equal(added.status, 201);
      assert.deepEqual(added.body, { user_id: bobId, email: 'bob@example.com', name: null });
      const again = await send('PUT', url, admin);
      assert.equal(again.status, 200);
      assert.deepEqual(again.body, added.body);
      const read = await send('GET', `/teams/${team.body.id}`, admin);
      assert.deepEqual(read.body.members, [added.body]);

      assert.equal((await send('DELETE', url, admin)).status, 204);
      const twice = await send('DELETE', url, admin);
      assert.equal(twice.status, 404);
      assert.equal(twice.body.code, 'team_member_not_found');
      assert.deepEqual((await send('GET', `/teams/${team.body.id}`, admin)).body.members, []);
    });

    it('adds a user once when two requests race', async (t) => {
      const { send, member, admin, teamAudit } = await setUp(t, engine);
      const bobId = await member('acme', 'bob@example.com', ['viewer']);
      const team = await send('POST', '/teams', admin, { name: 'Ops' });
      const url = `/teams/${team.body.id}/members/${bobId}`;
      const replies = await Promise.all([1, 2, 3].map(() => send('PUT', url, admin)));
      assert.deepEqual(replies.map((r) => r.status).sort(), [200, 200, 201]);
      const added = (await teamAudit()).filter((e) => e.action === 'team.member_added');
      assert.equal(added.length, 1);
    });

    it('accepts only members of the caller’s own tenant', async (t) => {
      const { send, member, userWith, admin } = await setUp(t, engine);
      const team = await send('POST', '/teams', admin, { name: 'Ops' });
      const outsider = await member('globex', 'gus@example.com', ['admin']);
      const nobody = await userWith('nobody@example.com', 'a long enough password');
      for (const userId of [outsider, nobody, 'no-such-user']) {
        const reply = await send('PUT', `/teams/${team.body.id}/members/${userId}`, admin);
        assert.equal(reply.status, 404, userId);
        assert.equal(reply.body.code, 'user_not_found');
      }
      const missing = await send('PUT', `/teams/no-such-team/members/${outsider}`, admin);
      assert.equal(missing.body.code, 'team_not_found');
      assert.deepEqual((await send('GET', `/teams/${team.body.id}`, admin)).body.members, []);
    });

    it('deletes a team’s memberships with it, and the users stay', async (t) => {
      const { send, member, admin, db } = await setUp(t, engine);
      const bobId = await member('acme', 'bob@example.com', ['viewer']);
      const ops = await send('POST', '/teams', admin, { name: 'Ops' });
      const dev = await send('POST', '/teams', admin, { name: 'Dev' });
      await send('PUT', `/teams/${ops.body.id}/members/${bobId}`, admin);
      await send('PUT', `/teams/${dev.body.id}/members/${bobId}`, admin);
      assert.equal((await send('DELETE', `/teams/${ops.body.id}`, admin)).status, 204);
      const rows = await db.kysely
        .selectFrom('team_members')
        .select(['team_id', 'user_id'])
        .execute();
      assert.deepEqual(
        rows.map((row) => ({ ...row })),
        [{ team_id: dev.body.id, user_id: bobId }],
      );
      const members = await send('GET', '/tenants/acme/members', admin);
      assert.ok((members.body.members as { user_id: string }[]).some((m) => m.user_id === bobId));
      // Re-creating the name is allowed once the team is gone.
      assert.equal((await send('POST', '/teams', admin, { name: 'OPS' })).status, 201);
    });

    it('audits every change with actor, target and outcome, and no refused one', async (t) => {
      const { send, member, admin, adminId, teamAudit, keyFor } = await setUp(t, engine);
      const bobId = await member('acme', 'bob@example.com', ['viewer']);
      const ops = await send('POST', '/teams', admin, { name: 'Ops', description: 'On call' });
      const id = ops.body.id as string;
      // Refused changes: none of them may leave an event.
      assert.equal((await send('POST', '/teams', admin, { name: 'ops' })).status, 409);
      assert.equal((await send('PUT', `/teams/${id}/members/nobody`, admin)).status, 404);
      assert.equal((await send('DELETE', `/teams/${id}/members/${bobId}`, admin)).status, 404);
      await send('PATCH', `/teams/${id}`, admin, { name: 'Operations' });
      await send('PUT', `/teams/${id}/members/${bobId}`, admin);
      await send('PUT', `/teams/${id}/members/${bobId}`, admin); // no change, no event
      await send('DELETE', `/teams/${id}/members/${bobId}`, admin);
      await send('PUT', `/teams/${id}/members/${bobId}`, admin);
      await send('DELETE', `/teams/${id}`, admin);

      const events = await teamAudit();
      for (const event of events) {
        assert.equal(event.actor, adminId);
        assert.equal(event.actor_type, 'user');
        assert.equal(event.target, `team:${id}`);
        assert.equal(event.outcome, 'success');
      }
      assert.deepEqual(
        events.map((event) => [event.action, event.details]),
        [
          ['team.created', { name: 'Ops', description: 'On call' }],
          ['team.updated', { name: 'Operations' }],
          ['team.member_added', { user_id: bobId }],
          ['team.member_removed', { user_id: bobId }],
          ['team.member_added', { user_id: bobId }],
          ['team.deleted', { name: 'Operations', member_count: 1 }],
        ],
      );
      // Each tenant's trail holds only its own teams' events.
      const globex = await keyFor('globex');
      await send('POST', '/teams', globex, { name: 'Ops' });
      assert.equal((await teamAudit(globex)).length, 1);
      assert.equal((await teamAudit()).length, events.length);
    });
  });
}
