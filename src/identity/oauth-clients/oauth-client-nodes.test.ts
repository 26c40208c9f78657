import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiKeyFor } from '../../../test/helpers/auth.ts';
import { startNodes, statusWithKey, type TestNode } from '../../../test/helpers/nodes.ts';
import { MACHINE_CLIENT } from '../../../test/helpers/oauth-client-fixture.ts';
import { skipWithoutPostgres } from '../../../test/helpers/postgres-events-fixture.ts';
import { until } from '../../../test/helpers/until.ts';
import type { OAuthClientOwner } from './oauth-client-lookup.ts';

/** Node a's cached lookup of `id`, as the provider will cache it; counts the reads. */
function cachedOn(node: TestNode, id: string) {
  const reads = { count: 0 };
  const read = () =>
    node.services.identity.credentials.through(
      `oauth_client:${id}`,
      () => {
        reads.count += 1;
        return node.services.identity.oauthClients.lookup(id);
      },
      (client: OAuthClientOwner) => ({
        tenant: client.tenant_id,
        user: client.created_by,
        session: null,
        api_key: null,
        oauth_client: client.id,
      }),
    );
  return { read, reads };
}

describe('OAuth clients cached across nodes (PostgreSQL)', { skip: skipWithoutPostgres }, () => {
  it('are dropped by a node that cached one when another node changes or deletes it', async (t) => {
    const [a, b] = (await startNodes(t, 'postgres', 2)) as [TestNode, TestNode];
    const admin = await apiKeyFor(a.services, 'acme', 'admin');
    const created = await a.app.inject({
      method: 'POST',
      url: '/api/v1/oauth/clients',
      headers: { 'x-api-key': admin },
      payload: MACHINE_CLIENT,
    });
    assert.equal(created.statusCode, 201, created.body);
    const id = String(created.json<{ id: string }>().id);
    const { read, reads } = cachedOn(a, id);
    assert.equal((await read())?.name, MACHINE_CLIENT.name);
    await read();
    assert.equal(reads.count, 1, 'node a answers from its cache');

    const url = `/oauth/clients/${id}`;
    assert.equal(await statusWithKey(b, 'PATCH', url, admin, { name: 'Renamed on b' }), 200);
    await until(async () => (await read())?.name === 'Renamed on b', 'node a sees the change');
    assert.equal(await statusWithKey(b, 'DELETE', url, admin), 204);
    await until(async () => (await read()) === undefined, 'node a forgets the deleted client');
  });
});
