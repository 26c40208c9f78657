import type { Config } from '../../config/schema.ts';
import { newId } from '../../platform/secrets.ts';
import type { ClaimedEmail, OutboxStore } from '../outbox/outbox-store.ts';
import type { EmailMetrics } from './email-metrics.ts';
import { describeFailure, type EmailTransport } from './transport.ts';

/** Messages claimed per statement; a full batch means look again at once. */
const BATCH = 10;
const PURGE_EVERY_MS = 60 * 60 * 1000;
/** Sent and failed rows are kept this long for the record, then forgotten. */
const KEEP_FINISHED_MS = 7 * 24 * 60 * 60 * 1000;

export interface EmailSenderDeps {
  readonly outbox: OutboxStore;
  readonly transport: EmailTransport;
  readonly settings: Pick<
    Config['email'],
    'poll_interval_ms' | 'retry_base_ms' | 'retry_max_ms' | 'max_attempts' | 'lease_ms'
  >;
  readonly log: {
    warn(object: object, message: string): void;
    error(object: object, message: string): void;
  };
  readonly metrics?: EmailMetrics | undefined;
  readonly now?: () => number;
  /** Calls `wake` whenever this process queued mail (after its commit). */
  readonly onQueued: (wake: () => void) => () => void;
}

export interface EmailSender {
  /** Looks for due mail now. */
  wake(): void;
  /** Stops looking, and waits for the message being sent. */
  stop(): Promise<void>;
}

/** Exponential backoff with jitter: attempt 1 waits about `base`, each next twice as long. */
export function retryDelay(
  attempts: number,
  settings: Pick<Config['email'], 'retry_base_ms' | 'retry_max_ms'>,
  random: () => number = Math.random,
): number {
  const full = Math.min(settings.retry_max_ms, settings.retry_base_ms * 2 ** (attempts - 1));
  return Math.round(full / 2 + (random() * full) / 2);
}

/**
 * The background sender of one node: claims due messages from the outbox (a lease, so
 * one node sends each), sends them, and records the outcome. It wakes when this
 * process queues mail and every `poll_interval_ms` for mail other nodes queued or that
 * waits for a retry. A node that dies mid-send leaves its lease to run out; the message
 * is then sent again, with the same Message-ID: at least once, never lost.
 */
export function startEmailSender(deps: EmailSenderDeps): EmailSender {
  const { outbox, transport, settings, log, metrics } = deps;
  const now = deps.now ?? Date.now;
  const owner = newId();
  let running: Promise<void> | undefined;
  let pending = false;
  let stopped = false;
  let purgedAt = 0;

  async function deliver(email: ClaimedEmail): Promise<void> {
    // A batch is claimed at once but sent one by one: each message's lease is taken
    // afresh before it is sent, so that a slow server (up to smtp_timeout_ms per step)
    // cannot let a later message's lease run out while it waits its turn, and another
    // node send it too. Not ours any more: that node sends it.
    if (!(await outbox.renew(email.id, owner, now() + settings.lease_ms))) return;
    try {
      await transport.send({
        to: email.recipient,
        subject: email.subject,
        text: email.text,
        html: email.html,
        messageId: email.message_id,
        template: email.template,
      });
    } catch (error) {
      const failure = describeFailure(error);
      const attempts = email.attempts + 1;
      metrics?.attemptFailed(email.template);
      if (failure.permanent || attempts >= settings.max_attempts) {
        await outbox.failed(email.id, owner, failure.message, now());
        metrics?.gaveUp(email.template);
        log.error(
          { email_id: email.id, template: email.template, attempts, err: failure.message },
          'email: given up',
        );
        return;
      }
      const nextMs = now() + retryDelay(attempts, settings);
      await outbox.retry(email.id, owner, failure.message, nextMs);
      log.warn(
        { email_id: email.id, template: email.template, attempts, err: failure.message },
        'email: sending failed, will retry',
      );
      return;
    }
    await outbox.sent(email.id, owner, now());
    metrics?.sent(email.template);
  }

  async function passOnce(): Promise<void> {
    const claimed = await outbox.claim(owner, now(), settings.lease_ms, BATCH);
    for (const [index, email] of claimed.entries()) {
      if (stopped) {
        // Shutting down: what this node will not send, another may take at once
        // rather than when the lease runs out.
        await outbox.release(
          claimed.slice(index).map((rest) => rest.id),
          owner,
        );
        return;
      }
      await deliver(email);
    }
    if (claimed.length === BATCH) pending = true;
    if (now() - purgedAt >= PURGE_EVERY_MS) {
      purgedAt = now();
      await outbox.purge(purgedAt - KEEP_FINISHED_MS);
    }
  }

  function wake(): void {
    if (stopped) return;
    if (running) {
      pending = true;
      return;
    }
    running = (async () => {
      do {
        pending = false;
        await passOnce();
      } while (pending && !stopped);
    })()
      .catch((error: unknown) => log.error({ err: error }, 'email: the outbox could not be read'))
      .finally(() => {
        running = undefined;
      });
  }

  const timer = setInterval(wake, settings.poll_interval_ms);
  timer.unref();
  const unsubscribe = deps.onQueued(wake);
  wake();

  return {
    wake,
    async stop() {
      stopped = true;
      clearInterval(timer);
      unsubscribe();
      await running;
      transport.close();
    },
  };
}
