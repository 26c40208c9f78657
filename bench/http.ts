import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../src/app.ts';
import { defaultConfig } from '../src/config/load.ts';
import { MIGRATIONS } from '../src/migrations/index.ts';
import { migrateToLatest } from '../src/storage/migrate.ts';
import { openDatabase } from '../src/storage/open-database.ts';
import { type LoadResult, loadGetInWorker } from './http-load.ts';

export interface HttpFigure extends LoadResult {
  readonly target: string;
}

const BODY = JSON.stringify({ status: 'alive' });

/**
 * Platform overhead per request: the bare node:http server answering the same JSON
 * is the ceiling; Tessera's /liveness adds request id, security headers, metrics,
 * logging (off here) and routing; /health adds a database ping.
 */
export async function benchHttp(concurrency: number, durationMs: number): Promise<HttpFigure[]> {
  const figures: HttpFigure[] = [];
  const bare = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(BODY);
  });
  bare.listen(0, '127.0.0.1');
  await once(bare, 'listening');
  const barePort = (bare.address() as { port: number }).port;
  figures.push({
    target: 'bare node:http',
    ...(await loadGetInWorker(`http://127.0.0.1:${barePort}/`, concurrency, durationMs)),
  });
  bare.close();

  const config = defaultConfig();
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-bench-http-'));
  const db = await openDatabase({ ...config.storage, data_dir: dataDir });
  await migrateToLatest(db, MIGRATIONS);
  const app = await buildApp({
    config: { ...config, logging: { ...config.logging, level: 'warn', requests: false } },
    db,
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  for (const path of ['/liveness', '/health']) {
    figures.push({
      target: `tessera GET ${path}`,
      ...(await loadGetInWorker(`${address}${path}`, concurrency, durationMs)),
    });
  }
  await app.close();
  await db.close();
  rmSync(dataDir, { recursive: true, force: true });
  return figures;
}
