import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { apiKeyFor } from '../../../test/helpers/auth.ts';
import {
  GENEROUS_RATE_LIMITS,
  PASSWORD,
  TEST_LOCKOUT,
} from '../../../test/helpers/lockout-fixture.ts';
import { startNodes, type TestNode } from '../../../test/helpers/nodes.ts';
import { skipWithoutPostgres } from '../../../test/helpers/postgres-events-fixture.ts';
import type { Config } from '../../config/schema.ts';
import { hashPassword } from '../../identity/login/passwords.ts';

type Node = TestNode;

/** Two Tessera nodes (own pools and caches) on one fresh PostgreSQL database. */
function twoNodes(
  t: TestContext,
  lockout: Partial<Config['lockout']>,
  onPasswordCheck?: () => void,
): Promise<Node[]> {
  return startNodes(
    t,
    'postgres',
    2,
    { rate_limits: GENEROUS_RATE_LIMITS, lockout: { ...TEST_LOCKOUT, ...lockout } },
    { services: { sleep: async () => {}, onPasswordCheck } },
  );
}

async function member(node: Node, email: string): Promise<string> {
  await apiKeyFor(node.services, 'acme');
  const user = await node.services.identity.users.createUser({
    email,
    password_hash: await hashPassword(PASSWORD),
  });
  await node.services.tenancy.memberships.grant('acme', user.id, ['viewer']);
  return user.id;
}

const login = (node: Node, email: string, password: string) =>
  node.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } });

async function lockoutsCounted(node: Node): Promise<number> {
  const text = (await node.app.inject({ method: 'GET', url: '/metrics' })).body;
  return Number(/^lockouts_total (\d+)$/m.exec(text)?.[1] ?? 0);
}

describe('lockout across nodes (PostgreSQL)', { skip: skipWithoutPostgres }, () => {
  it('loses no failure when two nodes count one account at once', async (t) => {
    const nodes = (await twoNodes(t, { max_failures: 1000 })) as [Node, Node];
    const ada = await member(nodes[0], 'ada@acme.test');
    await Promise.all(
      Array.from({ length: 16 }, (_, i) => login(nodes[i % 2] as Node, 'ada@acme.test', 'wrong')),
    );
    const kysely = nodes[1].db.kysely;
    const account = await kysely
      .selectFrom('account_lockouts')
      .select('failures')
      .where('user_id', '=', ada)
      .executeTakeFirstOrThrow();
    assert.equal(account.failures, 16);
    const ip = await kysely
      .selectFrom('ip_login_failures')
      .select(['ip', 'failures'])
      .executeTakeFirstOrThrow();
    assert.deepEqual(ip, { ip: '127.0.0.1', failures: 16 });
  });

  it('checks at most max_failures passwords of 30 guesses spread over two nodes at once', async (t) => {
    let checks = 0;
    const nodes = (await twoNodes(t, { max_failures: 5 }, () => {
      checks += 1;
    })) as [Node, Node];
    await member(nodes[0], 'ada@acme.test');
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => login(nodes[i % 2] as Node, 'ada@acme.test', 'wrong')),
    );
    assert.ok(answers.every((answer) => answer.statusCode === 401));
    assert.equal(checks, 5);
    assert.equal((await login(nodes[1], 'ada@acme.test', PASSWORD)).statusCode, 401);
    assert.equal(checks, 5);
  });

  it('locks once, for every node, from failures counted on both', async (t) => {
    const [a, b] = (await twoNodes(t, {})) as [Node, Node];
    const ada = await member(a, 'ada@acme.test');
    await login(a, 'ada@acme.test', 'wrong');
    await login(b, 'ada@acme.test', 'wrong');
    await login(a, 'ada@acme.test', 'wrong');
    for (const node of [a, b]) {
      assert.equal((await login(node, 'ada@acme.test', PASSWORD)).statusCode, 401);
    }
    assert.equal((await lockoutsCounted(a)) + (await lockoutsCounted(b)), 1);
    const key = await apiKeyFor(b.services, 'acme');
    const trail = await b.app.inject({
      method: 'GET',
      url: '/api/v1/audit?action=account.locked',
      headers: { 'x-api-key': key },
    });
    const events = trail.json().events as { payload: { target: string } }[];
    assert.deepEqual(
      events.map((e) => e.payload.target),
      [`user:${ada}`],
    );
    // Unlocked through one node, unlocked for the other.
    const unlock = await a.app.inject({
      method: 'DELETE',
      url: `/api/v1/lockouts/users/${ada}`,
      headers: { 'x-api-key': key },
    });
    assert.equal(unlock.statusCode, 204);
    assert.equal((await login(b, 'ada@acme.test', PASSWORD)).statusCode, 200);
  });
});
