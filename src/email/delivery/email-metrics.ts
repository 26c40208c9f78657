import { Counter, Gauge, type Registry } from 'prom-client';
import type { OutboxStats } from '../outbox/outbox-store.ts';

export interface EmailMetrics {
  sent(template: string): void;
  attemptFailed(template: string): void;
  gaveUp(template: string): void;
}

/**
 * `tessera_email_sent_total`, `tessera_email_attempts_failed_total` and
 * `tessera_email_failed_total` (given up) by template, and the outbox's queue depth and
 * oldest queued age, read from the database at scrape time (the queue is every node's).
 */
export function emailMetrics(registry: Registry, stats: () => Promise<OutboxStats>): EmailMetrics {
  const labelNames = ['template'] as const;
  const sent = new Counter({
    name: 'tessera_email_sent_total',
    help: 'Emails accepted by the transport, by template.',
    labelNames,
    registers: [registry],
  });
  const attempts = new Counter({
    name: 'tessera_email_attempts_failed_total',
    help: 'Attempts to send an email that failed (retried, or given up), by template.',
    labelNames,
    registers: [registry],
  });
  const failed = new Counter({
    name: 'tessera_email_failed_total',
    help: 'Emails given up (refused for good, or out of attempts), by template.',
    labelNames,
    registers: [registry],
  });
  let last: OutboxStats = { queued: 0, oldest_queued_ms: null };
  // Both gauges are collected together on a scrape: one query serves them.
  let reading: Promise<void> | undefined;
  const read = () => {
    reading ??= stats()
      .then((stats) => {
        last = stats;
      })
      .catch(() => {
        // The database is unreachable (or closing): /health says so; keep the last reading.
      })
      .finally(() => {
        reading = undefined;
      });
    return reading;
  };
  new Gauge({
    name: 'tessera_email_queue_depth',
    help: 'Emails queued in the outbox (every node’s), waiting to be sent or retried.',
    registers: [registry],
    async collect() {
      await read();
      this.set(last.queued);
    },
  });
  new Gauge({
    name: 'tessera_email_oldest_queued_age_seconds',
    help: 'Age of the oldest queued email; 0 when none is queued.',
    registers: [registry],
    async collect() {
      await read();
      const oldest = last.oldest_queued_ms;
      this.set(oldest === null ? 0 : Math.max(0, (Date.now() - oldest) / 1000));
    },
  });
  return {
    sent: (template) => sent.inc({ template }),
    attemptFailed: (template) => attempts.inc({ template }),
    gaveUp: (template) => failed.inc({ template }),
  };
}
