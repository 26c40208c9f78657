import type { AppendFigure } from './events-append.ts';
import type { HttpAppendFigure } from './events-http.ts';
import type { ReadFigure } from './events-read.ts';

/** Markdown tables for the event store figures, each next to its target. */

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => n.toFixed(2);
const met = (ok: boolean) => (ok ? 'yes' : 'no');

function table(header: readonly string[], align: string, rows: readonly string[][]): string {
  return [`| ${header.join(' | ')} |`, align, ...rows.map((r) => `| ${r.join(' | ')} |`)].join(
    '\n',
  );
}

/** A figure, or why it is missing. */
const cell = (value: number | string, show: (n: number) => string) =>
  typeof value === 'number' ? show(value) : `n/a (${value})`;

export const APPEND_TARGET = 0.8;

export function appendTable(figures: readonly AppendFigure[]): string {
  return table(
    [
      'Engine',
      'Batch',
      'raw INSERT ev/s',
      'store.appendUnits ev/s',
      'store / raw',
      'Target',
      'Met',
      'service.appendToEntity ev/s',
    ],
    '| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |',
    figures.map((f) => {
      const ratio = typeof f.store === 'number' ? f.store / f.raw : undefined;
      return [
        f.engine,
        fmt(f.batch),
        fmt(f.raw),
        cell(f.store, fmt),
        ratio === undefined ? '—' : `${(ratio * 100).toFixed(0)}%`,
        `≥ ${APPEND_TARGET * 100}% of raw`,
        ratio === undefined ? '—' : met(ratio >= APPEND_TARGET),
        cell(f.service, fmt),
      ];
    }),
  );
}

export const HTTP_BATCH_TARGET = 100_000;
export const HTTP_SINGLE_TARGET = 8000;
export const HTTP_SINGLE_P99_MS = 20;

function httpTarget(f: HttpAppendFigure): { text: string; ok?: boolean } {
  if (typeof f.result === 'string') return { text: '—' };
  const events = f.result.perSecond * f.eventsPerRequest;
  if (f.name === 'batch') {
    if (f.engine !== 'sqlite') return { text: `none (SQLite: ≥ ${fmt(HTTP_BATCH_TARGET)})` };
    return { text: `≥ ${fmt(HTTP_BATCH_TARGET)} ev/s`, ok: events >= HTTP_BATCH_TARGET };
  }
  return {
    text: `≥ ${fmt(HTTP_SINGLE_TARGET)} ev/s, p99 < ${HTTP_SINGLE_P99_MS} ms`,
    ok: events >= HTTP_SINGLE_TARGET && f.result.p99Ms < HTTP_SINGLE_P99_MS,
  };
}

export function httpAppendTable(figures: readonly HttpAppendFigure[]): string {
  return table(
    ['Engine', 'Load', 'Events/s', 'Requests/s', 'p50 ms', 'p99 ms', 'Errors', 'Target', 'Met'],
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |',
    figures.map((f) => {
      const load = `${fmt(f.eventsPerRequest)} event${f.eventsPerRequest === 1 ? '' : 's'}/request, ${f.clients} clients`;
      const target = httpTarget(f);
      const ok = target.ok === undefined ? '—' : met(target.ok);
      if (typeof f.result === 'string') {
        return [f.engine, load, `n/a (${f.result})`, '', '', '', '', target.text, ok];
      }
      const r = f.result;
      return [
        f.engine,
        load,
        fmt(r.perSecond * f.eventsPerRequest),
        fmt(r.perSecond),
        ms(r.p50Ms),
        ms(r.p99Ms),
        String(r.errors),
        target.text,
        ok,
      ];
    }),
  );
}

export const READ_TARGET_MS = 2;

export function readTable(engine: string, figures: readonly ReadFigure[] | string): string {
  const header = [
    'Engine',
    'Read',
    'In-process p50 ms',
    'HTTP p50 ms',
    'HTTP p99 ms',
    'Target',
    'Met',
  ];
  const align = '| --- | --- | ---: | ---: | ---: | --- | --- |';
  if (typeof figures === 'string') {
    return table(header, align, [[engine, `n/a (${figures})`, '', '', '', '', '']]);
  }
  return table(
    header,
    align,
    figures.map((f) => {
      // Only the entity read has a target.
      const targeted = f.name.includes('entity read');
      return [
        f.engine,
        f.name,
        ms(f.inProcessP50),
        ms(f.httpP50),
        ms(f.httpP99),
        targeted ? `HTTP p50 < ${READ_TARGET_MS} ms` : 'none',
        targeted ? met(f.httpP50 < READ_TARGET_MS) : '—',
      ];
    }),
  );
}
