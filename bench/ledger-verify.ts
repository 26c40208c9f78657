// Offline verification speed of the ledger (issue 22): a SQLite log of 200,000 events
// (~150 bytes of payload each) chained by the backfill, then verified in full the way
// `tessera ledger verify` does. Prints events/s for the backfill and the verification.
// Run: npx node bench/ledger-verify.ts [events]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig } from '../src/config/load.ts';
import { backfillChains } from '../src/events/chain/backfill.ts';
import { openChainLog } from '../src/events/chain/chain-log.ts';
import { openEventStore } from '../src/events/open-event-store.ts';
import { verifyPartitions } from '../src/ledger/verify-partitions.ts';
import { MIGRATIONS } from '../src/migrations/index.ts';
import { migrateToLatest } from '../src/storage/migrate.ts';
import { openDatabase } from '../src/storage/open-database.ts';

const total = Number(process.argv[2] ?? 200_000);
const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-ledger-'));
const db = await openDatabase({ ...defaultConfig().storage, data_dir: dir });
try {
  await migrateToLatest(db, MIGRATIONS);
  const store = openEventStore(db);
  for (let done = 0; done < total; done += 1000) {
    const events = Array.from({ length: 1000 }, (_, i) => ({
      event_type: 'OrderPlaced',
      payload: {
        order: done + i,
        customer: `c-${(done + i) % 977}`,
        items: [{ sku: 'A-1', qty: 2 }],
        total: 19.99,
      },
      metadata: { source: 'bench' },
    }));
    await store.appendUnits([
      {
        tenant_id: 'acme',
        entities: [{ entity_id: `order-${done}`, expected_version: 'any', events }],
      },
    ]);
  }
  const log = openChainLog(db);
  let started = performance.now();
  const chained = await backfillChains(log, { batch: 1000 });
  const backfillMs = performance.now() - started;
  started = performance.now();
  const verdict = await verifyPartitions(log, await log.partitions());
  const verifyMs = performance.now() - started;
  const rate = (n: number, ms: number) => Math.round((n * 1000) / ms);
  console.log(
    JSON.stringify({
      events: total,
      backfill: {
        chained: chained.chained,
        ms: Math.round(backfillMs),
        events_per_s: rate(chained.chained, backfillMs),
      },
      verify: {
        ok: verdict.ok,
        checked: verdict.checked,
        ms: Math.round(verifyMs),
        events_per_s: rate(verdict.checked, verifyMs),
      },
    }),
  );
} finally {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
}
