import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { startWebhookReceiver } from '../../../test/helpers/webhook-receiver.ts';
import { newSigningSecret } from '../signing/signing-secret.ts';
import { createCourier, isDelivered, keepAliveAgents, type Parcel } from './courier.ts';

const LOCAL = { timeoutMs: 5000, maxResponseBytes: 256, allowPrivateNetworks: true };

async function receiver(t: TestContext) {
  const hooks = await startWebhookReceiver();
  t.after(() => hooks.close());
  return hooks;
}

function parcel(url: string, secrets: string[], count: number, budgetMs = 60_000): Parcel {
  return {
    url,
    secrets,
    budgetMs,
    messages: Array.from({ length: count }, (_, n) => ({
      id: `msg_${n}`,
      body: JSON.stringify({
        type: 'order.placed',
        timestamp: '2026-12-06T10:00:00.000Z',
        data: { n },
      }),
    })),
  };
}

describe('the webhook courier', () => {
  it('posts a parcel in order, each message signed with every live secret', async (t) => {
    const hooks = await receiver(t);
    const [current, previous] = [newSigningSecret(), newSigningSecret()];
    const agents = keepAliveAgents();
    t.after(() => agents.http.destroy());
    const posted = await createCourier(LOCAL, { agents }).carry(
      parcel(hooks.url, [current, previous], 5),
    );
    assert.equal(posted.length, 5);
    assert.ok(posted.every(({ result }) => isDelivered(result)));
    assert.deepEqual(
      hooks.received.map((hook) => hook.headers['webhook-id']),
      ['msg_0', 'msg_1', 'msg_2', 'msg_3', 'msg_4'],
    );
    for (const hook of hooks.received) {
      // Either secret verifies: a receiver still holding the old one keeps working.
      hooks.verify(hook, current);
      hooks.verify(hook, previous);
    }
  });

  it('stops after the first message not delivered: what follows waits', async (t) => {
    const hooks = await receiver(t);
    hooks.answer((hook) => (hook.json.data.n === 2 ? 503 : 204));
    const posted = await createCourier(LOCAL).carry(parcel(hooks.url, [newSigningSecret()], 5));
    assert.deepEqual(
      posted.map(({ result }) => (result.kind === 'response' ? result.status : result.kind)),
      [204, 204, 503],
    );
    assert.equal(hooks.received.length, 3);
  });

  it('starts no message after the first once its budget is spent', async (t) => {
    const hooks = await receiver(t);
    const posted = await createCourier(LOCAL).carry(parcel(hooks.url, [newSigningSecret()], 5, 0));
    assert.equal(posted.length, 1);
    assert.equal(hooks.received.length, 1);
  });

  it('asks its pacer before every post', async (t) => {
    const hooks = await receiver(t);
    let asked = 0;
    const pace = async () => {
      asked += 1;
    };
    await createCourier(LOCAL, { pace }).carry(parcel(hooks.url, [newSigningSecret()], 4));
    assert.equal(asked, 4);
  });

  it('counts only a 2xx answer as delivered', () => {
    const answered = (status: number) => ({
      kind: 'response' as const,
      status,
      latencyMs: 1,
      body: '',
    });
    assert.ok(isDelivered(answered(200)));
    assert.ok(isDelivered(answered(299)));
    assert.ok(!isDelivered(answered(302)));
    assert.ok(!isDelivered(answered(410)));
    assert.ok(
      !isDelivered({ kind: 'failed', reason: 'timeout', latencyMs: 1, error: 'no answer' }),
    );
  });
});
