import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { apiKeyFor } from '../../../test/helpers/auth.ts';
import { statusWithKey as send, startNodes, type TestNode } from '../../../test/helpers/nodes.ts';
import { skipWithoutPostgres } from '../../../test/helpers/postgres-events-fixture.ts';
import { until } from '../../../test/helpers/until.ts';

type Node = TestNode;

/** Two Tessera nodes (own pools, caches and listeners) on one fresh PostgreSQL database. */
async function twoNodes(t: TestContext): Promise<[Node, Node]> {
  return (await startNodes(t, 'postgres', 2)) as [Node, Node];
}

describe('custom role changes across nodes (PostgreSQL)', { skip: skipWithoutPostgres }, () => {
  it('reach a node that cached the role when another node changes it', async (t) => {
    const [a, b] = await twoNodes(t);
    const admin = await apiKeyFor(a.services, 'acme', 'admin');
    assert.equal(
      await send(b, 'POST', '/roles', admin, { name: 'reader', permissions: ['events:read'] }),
      201,
    );
    const reader = await apiKeyFor(a.services, 'acme', 'reader');
    assert.equal(await send(a, 'GET', '/entities', reader), 200);
    const cached = a.services.identity.credentials.size;
    assert.equal(await send(a, 'GET', '/entities', reader), 200);
    assert.equal(a.services.identity.credentials.size, cached, 'node a answers from its cache');

    const readerAnswers = (status: number) => async () =>
      (await send(a, 'GET', '/entities', reader)) === status;
    const patch = (permissions: string[]) =>
      send(b, 'PATCH', '/roles/reader', admin, { permissions });
    assert.equal(await patch(['metrics:read']), 200);
    await until(readerAnswers(403), 'node a stops granting events:read');
    assert.equal(await patch(['events:read']), 200);
    await until(readerAnswers(200), 'node a grants events:read again');
  });
});
