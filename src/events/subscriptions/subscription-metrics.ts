import { Counter, Gauge, type Registry } from 'prom-client';
import type { SubscriptionHub } from './subscription-hub.ts';

/**
 * The hub's state as metrics, read when /metrics is scraped (per node: each
 * process has its own subscribers and its own byte budget).
 */
export function subscriptionMetrics(registry: Registry, hub: SubscriptionHub): void {
  const registers = [registry];
  new Gauge({
    name: 'subscriptions_open',
    help: 'Open live subscriptions (SSE and WebSocket) of this node, catching up or live.',
    labelNames: ['state'],
    registers,
    collect() {
      const stats = hub.stats();
      this.set({ state: 'live' }, stats.live);
      this.set({ state: 'catching_up' }, stats.catching_up);
    },
  });
  new Gauge({
    name: 'subscription_buffered_bytes',
    help: 'Bytes of event JSON queued unsent for backpressured subscribers of this node (bounded by subscriptions.process_buffer_bytes).',
    registers,
    collect() {
      this.set(hub.stats().buffered_bytes);
    },
  });
  new Counter({
    name: 'subscriptions_closed_too_slow_total',
    help: 'Subscribers this node closed with subscriber_too_slow (over their own or the process byte budget, or buffer_events).',
    registers,
    collect() {
      this.reset();
      this.inc(hub.stats().closed_too_slow);
    },
  });
}
