import type { LedgerFigures } from './ledger.ts';

/** Markdown table for the ledger's figures (bench/ledger.ts). */

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** The targets: the chain costs appends at most this share; verification this fast. */
export const CHAIN_COST_TARGET = 0.1;
export const VERIFY_TARGET = 200_000;

export function ledgerTable(figures: readonly LedgerFigures[]): string {
  const rows = figures.map((f) => {
    const cost = 1 - f.append / f.appendWithoutChain;
    return [
      f.engine,
      fmt(f.events),
      String(f.appendRounds),
      fmt(f.append),
      fmt(f.appendWithoutChain),
      `${(cost * 100).toFixed(0)}%`,
      cost <= CHAIN_COST_TARGET ? 'yes' : 'no',
      f.chainUs.toFixed(2),
      fmt(f.backfill),
      fmt(f.verifyOneThread),
      `${fmt(f.verify)} (${f.threads})`,
      f.verify >= VERIFY_TARGET ? 'yes' : 'no',
    ];
  });
  const header = [
    'Engine',
    'Events',
    'Rounds',
    'Store appends/s with the chain (median)',
    'Without the chain (median)',
    'Chain cost on appends',
    `Chain ≤ ${CHAIN_COST_TARGET * 100}%`,
    'Chain µs per event, alone',
    'Backfill events/s',
    'Verify events/s, one thread',
    'Verify events/s (threads), as the CLI',
    `Verify ≥ ${fmt(VERIFY_TARGET)}/s`,
  ];
  return [
    `| ${header.join(' | ')} |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}
