import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { until } from '../../../test/helpers/until.ts';
import type { ClaimedEmail, OutboxStore } from '../outbox/outbox-store.ts';
import type { EmailMetrics } from './email-metrics.ts';
import { retryDelay, startEmailSender } from './email-sender.ts';
import { describeFailure, type EmailTransport, type OutgoingEmail } from './transport.ts';

const SETTINGS = {
  // The tests wake the sender themselves; the poll must not run in between.
  poll_interval_ms: 600_000,
  retry_base_ms: 1000,
  retry_max_ms: 60_000,
  max_attempts: 3,
  lease_ms: 30_000,
};

describe('retryDelay', () => {
  const settings = { retry_base_ms: 1000, retry_max_ms: 10_000 };

  it('waits about the base first, then twice as long each time, with jitter', () => {
    assert.equal(
      retryDelay(1, settings, () => 0),
      500,
    );
    assert.equal(
      retryDelay(1, settings, () => 1),
      1000,
    );
    assert.equal(
      retryDelay(2, settings, () => 1),
      2000,
    );
    assert.equal(
      retryDelay(3, settings, () => 0.5),
      3000,
    );
    assert.equal(
      retryDelay(4, settings, () => 1),
      8000,
    );
  });

  it('never waits longer than retry_max_ms, however many attempts', () => {
    assert.equal(
      retryDelay(5, settings, () => 1),
      10_000,
    );
    assert.equal(
      retryDelay(1000, settings, () => 1),
      10_000,
    );
    assert.equal(
      retryDelay(1000, settings, () => 0),
      5000,
    );
  });

  it('spreads the retries of messages that failed together', () => {
    const delays = new Set(Array.from({ length: 50 }, () => retryDelay(3, settings)));
    assert.ok(delays.size > 1);
    for (const delay of delays) assert.ok(delay >= 2000 && delay <= 4000, String(delay));
  });
});

describe('describeFailure', () => {
  const smtp = (responseCode: number, command: string) =>
    Object.assign(new Error(`${responseCode} refused`), { responseCode, command });

  it('is permanent only for a 5xx refusal of the recipient or the message', () => {
    assert.equal(describeFailure(smtp(550, 'RCPT TO')).permanent, true);
    assert.equal(describeFailure(smtp(554, 'DATA')).permanent, true);
    assert.equal(describeFailure(smtp(451, 'DATA')).permanent, false);
    assert.equal(describeFailure(smtp(452, 'RCPT TO')).permanent, false);
  });

  it('retries what the operator can fix: credentials, TLS, the From address, the network', () => {
    assert.equal(describeFailure(smtp(535, 'AUTH PLAIN')).permanent, false);
    assert.equal(describeFailure(smtp(502, 'STARTTLS')).permanent, false);
    assert.equal(describeFailure(smtp(553, 'MAIL FROM')).permanent, false);
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ESOCKET' });
    assert.deepEqual(describeFailure(refused), {
      message: 'connect ECONNREFUSED',
      permanent: false,
    });
  });
});

/** An outbox in memory with the store's rules for leases, recording every outcome. */
function memoryOutbox(emails: ClaimedEmail[]) {
  const rows = new Map(emails.map((email) => [email.id, { email, owner: null as string | null }]));
  const outcomes: { id: string; outcome: string; at?: number; error?: string }[] = [];
  /** Ids another node took over while this one held them. */
  const stolen = new Set<string>();
  const finish = (id: string, owner: string) => {
    const row = rows.get(id);
    if (row?.owner !== owner) return false;
    rows.delete(id);
    return true;
  };
  const store = {
    async claim(owner: string, _now: number, _lease: number, limit: number) {
      const free = [...rows.values()].filter((row) => row.owner === null).slice(0, limit);
      for (const row of free) row.owner = owner;
      return free.map((row) => row.email);
    },
    async renew(id: string, owner: string) {
      if (stolen.has(id)) {
        const row = rows.get(id);
        if (row) row.owner = 'another node';
      }
      return rows.get(id)?.owner === owner;
    },
    async release(ids: readonly string[], owner: string) {
      for (const id of ids) {
        const row = rows.get(id);
        if (row?.owner === owner) row.owner = null;
      }
      outcomes.push(...ids.map((id) => ({ id, outcome: 'released' })));
    },
    async sent(id: string, owner: string) {
      if (finish(id, owner)) outcomes.push({ id, outcome: 'sent' });
    },
    async retry(id: string, owner: string, error: string, nextMs: number) {
      const row = rows.get(id);
      if (row?.owner !== owner) return;
      row.owner = null;
      row.email = { ...row.email, attempts: row.email.attempts + 1 };
      outcomes.push({ id, outcome: 'retry', at: nextMs, error });
    },
    async failed(id: string, owner: string, error: string) {
      if (finish(id, owner)) outcomes.push({ id, outcome: 'failed', error });
    },
    async stats() {
      return { queued: rows.size, oldest_queued_ms: null };
    },
    async purge() {
      return 0;
    },
  };
  return { store: store as unknown as OutboxStore, outcomes, stolen, rows };
}

function email(id: string, attempts = 0): ClaimedEmail {
  return {
    id,
    template: 'verify_email',
    recipient: `${id}@example.com`,
    subject: 's',
    text: 't',
    html: 'h',
    message_id: `<${id}@example.com>`,
    attempts,
  };
}

function countingMetrics() {
  const counts: Record<string, number> = {};
  const bump = (name: string) => (template: string) => {
    counts[`${name}:${template}`] = (counts[`${name}:${template}`] ?? 0) + 1;
  };
  const metrics: EmailMetrics = {
    sent: bump('sent'),
    attemptFailed: bump('attempt_failed'),
    gaveUp: bump('gave_up'),
  };
  return { metrics, counts };
}

const silent = { warn() {}, error() {} };

/** A sender over `outbox` whose transport answers with `answer` for each message. */
function sender(
  t: TestContext,
  outbox: OutboxStore,
  answer: (message: OutgoingEmail) => Promise<void>,
  metrics?: EmailMetrics,
) {
  const sent: OutgoingEmail[] = [];
  const transport: EmailTransport = {
    async send(message) {
      await answer(message);
      sent.push(message);
    },
    close() {},
  };
  const running = startEmailSender({
    outbox,
    transport,
    settings: SETTINGS,
    log: silent,
    metrics,
    now: () => 1_000_000,
    onQueued: () => () => {},
  });
  t.after(() => running.stop());
  return { running, sent };
}

describe('the email sender', () => {
  it('retries a transient failure after the backoff, and counts the attempt', async (t) => {
    const { store, outcomes } = memoryOutbox([email('a')]);
    const { metrics, counts } = countingMetrics();
    sender(
      t,
      store,
      async () => {
        throw Object.assign(new Error('451 try later'), { responseCode: 451, command: 'DATA' });
      },
      metrics,
    );
    await until(() => outcomes.length > 0, 'the attempt is recorded');
    const [retry] = outcomes;
    assert.equal(retry?.outcome, 'retry');
    assert.equal(retry?.error, '451 try later');
    // First retry: between half the base and the base after now.
    assert.ok(
      (retry?.at ?? 0) >= 1_000_500 && (retry?.at ?? 0) <= 1_001_000,
      JSON.stringify(retry),
    );
    assert.deepEqual(counts, { 'attempt_failed:verify_email': 1 });
  });

  it('gives up at once on a permanent refusal, and after max_attempts otherwise', async (t) => {
    const { store, outcomes } = memoryOutbox([email('refused'), email('tired', 2)]);
    const { metrics, counts } = countingMetrics();
    sender(
      t,
      store,
      async (message) => {
        const permanent = message.to.startsWith('refused');
        throw Object.assign(new Error(permanent ? '550 no such user' : '421 busy'), {
          responseCode: permanent ? 550 : 421,
          command: permanent ? 'RCPT TO' : 'DATA',
        });
      },
      metrics,
    );
    await until(() => outcomes.length === 2, 'both are given up');
    assert.deepEqual(
      outcomes.map((outcome) => [outcome.id, outcome.outcome]),
      [
        ['refused', 'failed'],
        ['tired', 'failed'],
      ],
    );
    assert.deepEqual(counts, {
      'attempt_failed:verify_email': 2,
      'gave_up:verify_email': 2,
    });
  });

  it('does not send a message another node took over while it waited its turn', async (t) => {
    const { store, outcomes, stolen } = memoryOutbox([email('first'), email('second')]);
    stolen.add('second');
    const { sent } = sender(t, store, async () => {});
    await until(() => outcomes.length === 1, 'the first is sent');
    assert.deepEqual(
      sent.map((message) => message.messageId),
      ['<first@example.com>'],
    );
    assert.deepEqual(outcomes, [{ id: 'first', outcome: 'sent' }]);
  });

  it('gives back what it claimed but did not send when it stops', async (t) => {
    const { store, outcomes } = memoryOutbox([email('a'), email('b'), email('c')]);
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let sending = 0;
    const { running } = sender(t, store, () => {
      sending++;
      return held;
    });
    await until(() => sending === 1, 'the first send is under way');
    const stopping = running.stop();
    release();
    await stopping;
    assert.deepEqual(outcomes, [
      { id: 'a', outcome: 'sent' },
      { id: 'b', outcome: 'released' },
      { id: 'c', outcome: 'released' },
    ]);
  });
});
