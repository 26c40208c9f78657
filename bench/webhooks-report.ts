import type { AppendCostFigure, DeliveryFigure, WebhookFigures } from './webhooks.ts';

/** Markdown tables for the webhooks figures (bench/webhooks.ts). */

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => n.toFixed(2);
const pct = (ratio: number) => `${(ratio * 100).toFixed(0)}%`;
const signed = (change: number) => `${change >= 0 ? '+' : '-'}${pct(Math.abs(change))}`;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** How far the load moved between rounds with no endpoint at all: the noise. */
function spread(rates: readonly number[], eventsPerRequest: number): string {
  const events = rates.filter((r) => r > 0).map((r) => r * eventsPerRequest);
  return events.length ? `${fmt(Math.min(...events))}–${fmt(Math.max(...events))}` : '—';
}

function table(header: readonly string[], align: string, rows: readonly string[][]): string {
  return [`| ${header.join(' | ')} |`, align, ...rows.map((r) => `| ${r.join(' | ')} |`)].join(
    '\n',
  );
}

/** The target: appends with endpoints at most this much slower than without. */
export const APPEND_COST_TARGET = 0.1;

/** What the delivery rows are compared with: one keep-alive connection, one request at a time. */
const BOUND = 'raw http.request, keep-alive';

export function deliveryTable(figures: readonly WebhookFigures[]): string {
  const rows = figures.flatMap((engine) => {
    const bound = engine.delivery.find((f) => f.path === BOUND)?.perSecond;
    return engine.delivery.map((f: DeliveryFigure) => {
      const rate = typeof f.perSecond === 'number' ? f.perSecond : undefined;
      const raw = f.deliveries === 0;
      return [
        f.engine,
        f.path,
        raw ? '—' : String(f.endpoints),
        raw ? '—' : fmt(f.deliveries),
        raw ? '—' : f.seconds.toFixed(1),
        rate === undefined ? `n/a (${f.perSecond})` : fmt(rate),
        rate !== undefined && typeof bound === 'number' ? pct(rate / bound) : '—',
        rate === undefined ? '—' : fmt(f.cpuUs),
      ];
    });
  });
  return table(
    [
      'Engine',
      'Path',
      'Endpoints',
      'Deliveries',
      'Seconds',
      'Requests/s',
      'vs keep-alive bound',
      'CPU µs per request',
    ],
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    rows,
  );
}

export function appendCostTable(figures: readonly WebhookFigures[]): string {
  const rows = figures.flatMap((engine) =>
    engine.appendCost.map((f: AppendCostFigure) => {
      const load = `${fmt(f.eventsPerRequest)} event${f.eventsPerRequest === 1 ? '' : 's'}/request, ${f.clients} client${f.clients === 1 ? '' : 's'}`;
      const target = `≤ ${pct(APPEND_COST_TARGET)} slower`;
      if (typeof f.without === 'string' || typeof f.with === 'string') {
        const why = typeof f.without === 'string' ? f.without : f.with;
        return [f.engine, load, '', `n/a (${why})`, '', '', '', '', '', '', '', '', target, '—'];
      }
      // The verdict compares medians: on this machine a load moves by more than the
      // target between rounds, and a best-of picks whichever side had the luckiest run.
      const without = median(f.rounds.without) * f.eventsPerRequest;
      const withHooks = median(f.rounds.with) * f.eventsPerRequest;
      const slower = 1 - withHooks / without;
      const bestChange = (f.with.perSecond - f.without.perSecond) / f.without.perSecond;
      const seconds = f.with.requests / f.with.perSecond;
      return [
        f.engine,
        load,
        String(f.rounds.without.length),
        fmt(without),
        fmt(withHooks),
        signed(-slower),
        `${fmt(f.without.perSecond * f.eventsPerRequest)} / ${fmt(f.with.perSecond * f.eventsPerRequest)} (${signed(bestChange)})`,
        spread(f.rounds.without, f.eventsPerRequest),
        `${ms(f.without.p99Ms)} / ${ms(f.with.p99Ms)}`,
        `${f.without.errors} / ${f.with.errors}`,
        fmt(f.delivered / seconds),
        fmt(f.delivered),
        target,
        slower <= APPEND_COST_TARGET ? 'yes' : 'no',
      ];
    }),
  );
  return table(
    [
      'Engine',
      'Load',
      'Rounds',
      'Events/s, no endpoint (median)',
      `Events/s, ${figures[0]?.appendCost[0]?.endpoints ?? '?'} endpoints (median)`,
      'Change',
      'Best runs (without / with)',
      'Spread over rounds, no endpoint',
      'p99 ms of the best runs (without / with)',
      'Errors (without / with)',
      'Deliveries/s meanwhile',
      'Delivered meanwhile',
      'Target',
      'Met',
    ],
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |',
    rows,
  );
}
