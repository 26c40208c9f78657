import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tenancyTestApp } from '../../../test/helpers/tenancy-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';

interface TeamJson {
  id: string;
  name: string;
  description: string | null;
  created_at: string;
  updated_at: string;
}

const names = (body: Record<string, unknown>) => (body.teams as TeamJson[]).map((t) => t.name);

for (const engine of testEngines()) {
  describe(`team routes (${engine})`, () => {
    it('creates, lists, reads, renames and deletes a team', async (t) => {
      const { send, keyFor } = await tenancyTestApp(t, engine);
      const admin = await keyFor('acme');
      const created = await send('POST', '/teams', admin, { name: 'Ops', description: 'On call' });
      assert.equal(created.status, 201);
      const team = created.body as unknown as TeamJson;
      assert.equal(team.name, 'Ops');
      assert.equal(team.description, 'On call');
      assert.match(team.id, /^[0-9a-f-]{36}$/);
      assert.equal(team.created_at, team.updated_at);

      const read = await send('GET', `/teams/${team.id}`, admin);
      assert.equal(read.status, 200);
      assert.deepEqual(read.body, { ...team, members: [] });

      const renamed = await send('PATCH', `/teams/${team.id}`, admin, {
        name: 'Operations',
        description: null,
      });
      assert.equal(renamed.status, 200);
      assert.equal(renamed.body.name, 'Operations');
      assert.equal(renamed.body.description, null);
      assert.equal(renamed.body.created_at, team.created_at);

      const kept = await send('PATCH', `/teams/${team.id}`, admin, { description: 'Pager' });
      assert.equal(kept.body.name, 'Operations');
      assert.equal(kept.body.description, 'Pager');

      assert.equal((await send('DELETE', `/teams/${team.id}`, admin)).status, 204);
      const gone = await send('GET', `/teams/${team.id}`, admin);
      assert.equal(gone.status, 404);
      assert.equal(gone.body.code, 'team_not_found');
      assert.equal((await send('DELETE', `/teams/${team.id}`, admin)).body.code, 'team_not_found');
      assert.equal((await send('PATCH', `/teams/${team.id}`, admin, { name: 'X' })).status, 404);
    });

    it('lists teams by name with a cursor and a name filter', async (t) => {
      const { send, keyFor } = await tenancyTestApp(t, engine);
      const admin = await keyFor('acme');
      for (const name of ['delta', 'Alpha', 'charlie', 'Bravo']) {
        assert.equal((await send('POST', '/teams', admin, { name })).status, 201);
      }
      const first = await send('GET', '/teams?limit=3', admin);
      assert.deepEqual(names(first.body), ['Alpha', 'Bravo', 'charlie']);
      assert.equal(first.body.next_cursor, 'charlie');
      const rest = await send('GET', '/teams?limit=3&after=charlie', admin);
      assert.deepEqual(names(rest.body), ['delta']);
      assert.equal(rest.body.next_cursor, null);
      const filtered = await send('GET', '/teams?q=AR', admin);
      assert.deepEqual(names(filtered.body), ['charlie']);
    });

    it('keeps names unique in a tenant ignoring case, even for concurrent creates', async (t) => {
      const { send, keyFor } = await tenancyTestApp(t, engine);
      const admin = await keyFor('acme');
      const replies = await Promise.all(
        ['Ops', 'OPS', 'ops', 'oPs', 'Ops'].map((name) => send('POST', '/teams', admin, { name })),
      );
      assert.deepEqual(replies.map((r) => r.status).sort(), [201, 409, 409, 409, 409]);
      for (const reply of replies.filter((r) => r.status === 409)) {
        assert.equal(reply.body.code, 'team_name_taken');
      }
      assert.equal(names((await send('GET', '/teams', admin)).body).length, 1);
      // The refused creates left no audit event claiming success.
      const audit = await send('GET', '/audit?action=team.created', admin);
      assert.equal(audit.body.count, 1);

      const dev = await send('POST', '/teams', admin, { name: 'Dev' });
      const clash = await send('PATCH', `/teams/${dev.body.id}`, admin, { name: 'OPS' });
      assert.equal(clash.status, 409);
      assert.equal(clash.body.code, 'team_name_taken');
      // Another tenant may use the same name.
      const other = await send('POST', '/teams', await keyFor('globex'), { name: 'ops' });
      assert.equal(other.status, 201);
    });

    it('rejects bad input and changes nothing', async (t) => {
      const { send, keyFor } = await tenancyTestApp(t, engine);
      const admin = await keyFor('acme');
      const ops = await send('POST', '/teams', admin, { name: 'Ops' });
      for (const body of [
        {},
        { name: '' },
        { name: 'x'.repeat(101) },
        { name: ' Ops2' },
        { name: 'two\nlines' },
        { name: 'Ops2', description: 'd'.repeat(1001) },
        { name: 'Ops2', extra: true },
      ]) {
        const reply = await send('POST', '/teams', admin, body);
        assert.equal(reply.status, 400, JSON.stringify(body));
        assert.equal(reply.body.code, 'validation_failed');
      }
      for (const body of [{}, { name: '' }, { name: 'Ops2', owner: 'me' }]) {
        const reply = await send('PATCH', `/teams/${ops.body.id}`, admin, body);
        assert.equal(reply.status, 400, JSON.stringify(body));
      }
      for (const query of ['limit=0', 'limit=1001', 'q=', 'sort=name']) {
        assert.equal((await send('GET', `/teams?${query}`, admin)).status, 400, query);
      }
      const list = await send('GET', '/teams', admin);
      assert.deepEqual(names(list.body), ['Ops']);
      const read = await send('GET', `/teams/${ops.body.id}`, admin);
      assert.equal(read.body.updated_at, ops.body.updated_at);
    });

    it('needs credentials, and teams:manage to change or users:read to read', async (t) => {
      const { send, keyFor } = await tenancyTestApp(t, engine);
      const admin = await keyFor('acme');
      const viewer = await keyFor('acme', 'viewer');
      const ops = await send('POST', '/teams', admin, { name: 'Ops' });
      const id = ops.body.id as string;
      const routes = [
        ['POST', '/teams', { name: 'Dev' }],
        ['GET', '/teams', undefined],
        ['GET', `/teams/${id}`, undefined],
        ['PATCH', `/teams/${id}`, { name: 'Dev' }],
        ['DELETE', `/teams/${id}`, undefined],
        ['PUT', `/teams/${id}/members/someone`, undefined],
        ['DELETE', `/teams/${id}/members/someone`, undefined],
      ] as const;
      for (const [method, url, body] of routes) {
        assert.equal((await send(method, url, null, body)).status, 401, `${method} ${url}`);
        const denied = await send(method, url, viewer, body);
        assert.equal(denied.status, 403, `${method} ${url}`);
        assert.equal(denied.body.code, 'permission_denied');
      }
      assert.deepEqual(names((await send('GET', '/teams', admin)).body), ['Ops']);
    });

    it('keeps each tenant’s teams invisible and unchangeable to every other', async (t) => {
      const { send, keyFor, platform } = await tenancyTestApp(t, engine);
      const acme = await keyFor('acme');
      const globex = await keyFor('globex');
      const ops = await send('POST', '/teams', acme, { name: 'Ops' });
      const id = ops.body.id as string;
      // A platform administrator acts in the system tenant through these routes too.
      for (const other of [globex, platform]) {
        for (const [method, url, body] of [
          ['GET', `/teams/${id}`, undefined],
          ['PATCH', `/teams/${id}`, { name: 'Stolen' }],
          ['DELETE', `/teams/${id}`, undefined],
          ['PUT', `/teams/${id}/members/someone`, undefined],
          ['DELETE', `/teams/${id}/members/someone`, undefined],
        ] as const) {
          const reply = await send(method, url, other, body);
          assert.equal(reply.status, 404, `${method} ${url}`);
          assert.equal(reply.body.code, 'team_not_found');
        }
        assert.deepEqual(names((await send('GET', '/teams', other)).body), []);
      }
      const still = await send('GET', `/teams/${id}`, acme);
      assert.equal(still.body.name, 'Ops');
      assert.equal(still.body.updated_at, ops.body.updated_at);
    });
  });
}
