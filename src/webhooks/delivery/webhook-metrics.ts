import { Counter, Gauge, type Registry } from 'prom-client';
import type { HeldEndpoint } from './dispatcher.ts';
import type { SendOutcome } from './send-message.ts';

export interface WebhookMetrics {
  attempted(outcome: Pick<SendOutcome, 'delivered' | 'result'>): void;
}

/** What the gauges read at scrape time: this node's endpoints and the log's head. */
export interface WebhookLag {
  readonly head: () => Promise<number>;
  readonly held: () => readonly HeldEndpoint[];
  /** The delivery thread's heap in use (bytes), when one runs. */
  readonly heapUsed?: () => Promise<number | undefined>;
  readonly now?: () => number;
}

/** The outcome label: delivered, `http_error` (any other status), or why nothing was answered. */
export function outcomeLabel(outcome: Pick<SendOutcome, 'delivered' | 'result'>): string {
  if (outcome.delivered) return 'delivered';
  return outcome.result.kind === 'response' ? 'http_error' : outcome.result.reason;
}

/**
 * `tessera_webhook_deliveries_total{outcome}`, and for the endpoints this node
 * delivers: `tessera_webhook_lag_positions{endpoint}` (log positions between its
 * cursor and the head), `tessera_webhook_lag_seconds{endpoint}` (age of the oldest
 * matching event not yet delivered; 0 when caught up) and `tessera_webhook_queue_depth`
 * (endpoints with an event waiting, to send or to retry).
 */
export function webhookMetrics(
  registry: Registry,
  lag: WebhookLag | (() => WebhookLag | undefined),
) {
  const deliveries = new Counter({
    name: 'tessera_webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome: delivered, http_error, timeout, blocked_address, dns, connection, tls, invalid_url, signing_secret.',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const lagOf = () => (typeof lag === 'function' ? lag() : lag);
  new Gauge({
    name: 'tessera_webhook_lag_positions',
    help: 'Log positions between an endpoint’s cursor and the head of the log (endpoints this node delivers).',
    labelNames: ['endpoint'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const source = lagOf();
      if (!source) return;
      const head = await source.head().catch(() => undefined);
      if (head === undefined) return;
      for (const held of source.held()) {
        if (held.cursor >= 0) this.set({ endpoint: held.id }, Math.max(0, head - held.cursor));
      }
    },
  });
  new Gauge({
    name: 'tessera_webhook_lag_seconds',
    help: 'Age of the oldest matching event not yet delivered to an endpoint; 0 when caught up (endpoints this node delivers).',
    labelNames: ['endpoint'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const source = lagOf();
      if (!source) return;
      const at = (source.now ?? Date.now)();
      for (const held of source.held()) {
        const since = held.pendingSinceMs;
        this.set({ endpoint: held.id }, since === null ? 0 : Math.max(0, (at - since) / 1000));
      }
    },
  });
  new Gauge({
    name: 'tessera_webhook_delivery_heap_bytes',
    help: 'V8 heap in use by this node’s webhook delivery thread; 0 when none runs (no endpoint enabled).',
    registers: [registry],
    async collect() {
      this.set((await lagOf()?.heapUsed?.()) ?? 0);
    },
  });
  new Gauge({
    name: 'tessera_webhook_queue_depth',
    help: 'Endpoints this node delivers that have an event waiting to be sent or retried.',
    registers: [registry],
    collect() {
      const source = lagOf();
      this.set(source ? source.held().filter((held) => held.pendingSinceMs !== null).length : 0);
    },
  });
  return {
    attempted(outcome: Pick<SendOutcome, 'delivered' | 'result'>) {
      deliveries.inc({ outcome: outcomeLabel(outcome) });
    },
    /** Attempts made elsewhere (the delivery thread), by their outcome label. */
    counted(label: string, count: number) {
      deliveries.inc({ outcome: label }, count);
    },
  };
}
