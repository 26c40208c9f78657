import { type BackfillResult, backfillChains } from './backfill.ts';
import type { ChainLog } from './chain-log.ts';

/** The part of a pino logger the backfill writes to. */
export interface BackfillLogger {
  info(details: Record<string, unknown>, message: string): void;
  warn(details: Record<string, unknown>, message: string): void;
}

const LOG_EVERY_MS = 5000;

/**
 * The backfill as the server runs it before listening: a line at info every few
 * seconds while it works and one at the end; nothing at all when there is nothing to
 * chain. A partition it could not continue is a warning: its verification says why.
 */
export async function backfillLogged(
  log: ChainLog,
  batch: number,
  logger: BackfillLogger,
  now: () => number = Date.now,
): Promise<BackfillResult> {
  const started = now();
  let loggedAt = started;
  const result = await backfillChains(log, {
    batch,
    onProgress: ({ chained, total }) => {
      if (chained === 0) logger.info({ total }, 'ledger backfill: chaining unhashed events');
      else if (now() - loggedAt >= LOG_EVERY_MS) {
        loggedAt = now();
        logger.info({ chained, total }, 'ledger backfill: in progress');
      }
    },
  });
  if (result.total > 0 || result.chained > 0) {
    const { chained, total } = result;
    logger.info({ chained, total, ms: now() - started }, 'ledger backfill: done');
  }
  if (result.blocked.length > 0) {
    logger.warn(
      { partitions: result.blocked },
      'ledger backfill: events past a partition head already have a hash; run `tessera ledger verify`',
    );
  }
  return result;
}
