import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiKeyFor } from '../../../test/helpers/auth.ts';
import { statusWithKey as send, startNodes, type TestNode } from '../../../test/helpers/nodes.ts';
import { skipWithoutPostgres } from '../../../test/helpers/postgres-events-fixture.ts';
import { until } from '../../../test/helpers/until.ts';

const append = { events: [{ event_type: 'Noted', payload: {} }] };

describe('API keys capped by their creator across nodes (PostgreSQL)', {
  skip: skipWithoutPostgres,
}, () => {
  it('reach a node that cached the key when another node demotes or removes its creator', async (t) => {
    const [a, b] = (await startNodes(t, 'postgres', 2)) as [TestNode, TestNode];
    const admin = await apiKeyFor(a.services, 'acme', 'admin');
    const ben = await a.services.identity.users.createUser({
      email: 'ben@example.com',
      password_hash: null,
    });
    await a.services.tenancy.memberships.grant('acme', ben.id, ['admin']);
    // Someone stays admin while Ben is demoted (the last-admin rule).
    const ada = await a.services.identity.users.createUser({
      email: 'ada@example.com',
      password_hash: null,
    });
    await a.services.tenancy.memberships.grant('acme', ada.id, ['admin']);
    const { secret } = await a.services.identity.apiKeys.create({
      tenant_id: 'acme',
      name: 'ben’s',
      role: 'admin',
      created_by: ben.id,
      expires_ms: null,
    });
    assert.equal(await send(a, 'POST', '/entities/e/events', secret, append), 201);
    const cached = a.services.identity.credentials.size;
    assert.equal(await send(a, 'GET', '/entities', secret), 200);
    assert.equal(a.services.identity.credentials.size, cached, 'node a answers from its cache');

    const writes = (status: number) => async () =>
      (await send(a, 'POST', '/entities/e/events', secret, append)) === status;
    const roles = (list: string[]) =>
      send(b, 'PUT', `/users/${ben.id}/roles`, admin, { roles: list });
    assert.equal(await roles(['viewer']), 200);
    await until(writes(403), 'node a caps the key at its demoted creator');
    assert.equal(await roles(['admin']), 200);
    await until(writes(201), 'node a lets the key write again');
    assert.equal(await send(b, 'DELETE', `/tenants/acme/members/${ben.id}`, admin), 204);
    await until(writes(401), 'node a refuses the key of a removed creator');
  });
});
