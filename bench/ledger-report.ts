import type { LedgerFigures } from './ledger.ts';

/** Markdown table for the ledger's figures (bench/ledger.ts). */

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** The targets: the chain costs appends at most this share; verification this fast. */
export const CHAIN_COST_TARGET = 0.1;
export const VERIFY_TARGET = 200_000;

export function ledgerTable(figures: readonly LedgerFigures[]): string {
  const rows = figures.map((f) => {
    const appendUs = 1e6 / f.append;
    const share = f.chainUs / appendUs;
    const without = 1e6 / (appendUs - f.chainUs);
    return [
      f.engine,
      fmt(f.events),
      fmt(f.append),
      f.chainUs.toFixed(2),
      `${(share * 100).toFixed(0)}%`,
      fmt(without),
      share <= CHAIN_COST_TARGET ? 'yes' : 'no',
      fmt(f.backfill),
      fmt(f.verifyOneThread),
      `${fmt(f.verify)} (${f.threads})`,
      f.verify >= VERIFY_TARGET ? 'yes' : 'no',
    ];
  });
  const header = [
    'Engine',
    'Events',
    'Store appends/s (chain included)',
    'Chain µs per event',
    'Chain share of an append',
    'Appends/s without the chain (derived)',
    `Chain ≤ ${CHAIN_COST_TARGET * 100}%`,
    'Backfill events/s',
    'Verify events/s, one thread',
    'Verify events/s (threads), as the CLI',
    `Verify ≥ ${fmt(VERIFY_TARGET)}/s`,
  ];
  return [
    `| ${header.join(' | ')} |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- |',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}
