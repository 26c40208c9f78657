import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { TESSERA_VERSION } from '../src/platform/version.ts';
import { benchHttp, type HttpFigure } from './http.ts';
import { benchPostgresWrites, benchSqliteWrites, type WriteFigure } from './storage.ts';

/**
 * `npm run bench`: prints figures and writes bench/RESULTS.md. PostgreSQL runs when
 * TESSERA_TEST_DATABASE_URL (an admin URL; a scratch database is created) is set.
 * Figures, never pass/fail: timing does not belong in tests.
 */
const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const BATCH = 1000;
const HTTP_CONCURRENCY = 32;
const HTTP_DURATION_MS = Number(process.env.BENCH_HTTP_MS ?? 4000);

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

function writeTable(figures: readonly WriteFigure[]): string {
  const lines = ['| Engine | Path | Rows/s | vs raw |', '| --- | --- | ---: | ---: |'];
  for (const figure of figures) {
    const raw = figures.find((f) => f.engine === figure.engine) as WriteFigure;
    const ratio = `${((figure.rowsPerSecond / raw.rowsPerSecond) * 100).toFixed(0)}%`;
    lines.push(`| ${figure.engine} | ${figure.path} | ${fmt(figure.rowsPerSecond)} | ${ratio} |`);
  }
  return lines.join('\n');
}

function httpTable(figures: readonly HttpFigure[]): string {
  const lines = [
    '| Target | Requests/s | p50 ms | p99 ms | vs bare | Errors |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  const bare = figures[0] as HttpFigure;
  for (const f of figures) {
    const ratio = `${((f.perSecond / bare.perSecond) * 100).toFixed(0)}%`;
    lines.push(
      `| ${f.target} | ${fmt(f.perSecond)} | ${f.p50Ms.toFixed(2)} | ${f.p99Ms.toFixed(2)} | ${ratio} | ${f.errors} |`,
    );
  }
  return lines.join('\n');
}

const writes = await benchSqliteWrites(ROWS, BATCH);
if (process.env.TESSERA_TEST_DATABASE_URL) writes.push(...(await benchPostgresWrites(ROWS, BATCH)));
const http = await benchHttp(HTTP_CONCURRENCY, HTTP_DURATION_MS);

const cpu = cpus();
const machine = `${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}`;
const report = `# Benchmark results

Written by \`npm run bench\` (bench/run.ts). Figures, not tests: they vary from run to
run and machine to machine; compare rows of the same run.

- Date: ${new Date().toISOString()}
- Tessera ${TESSERA_VERSION}
- Machine: ${machine}

## Control-plane writes

${fmt(ROWS)} rows of ~150 bytes, ${fmt(BATCH)} rows per transaction, default durability
(SQLite WAL with the configured \`synchronous\`). "raw" is the bare driver on the same
schema in the same run.

${writeTable(writes)}

## HTTP platform

${HTTP_CONCURRENCY} keep-alive clients on a worker thread in the same process (so client
and server share the 2 cores), ${HTTP_DURATION_MS / 1000} s per target. "bare" is a
node:http server answering the same JSON without any framework.

${httpTable(http)}
`;
process.stdout.write(`${report}\n`);
writeFileSync(new URL('./RESULTS.md', import.meta.url), report);
