import { buildApp } from '../src/app.ts';
import type { Engine } from '../src/storage/database.ts';
import { type Scratch, tryOpenStore, withScratch } from './events-fixture.ts';

/**
 * Tessera listening on 127.0.0.1 over a fresh scratch database while `fn` runs
 * (given the API base URL); a string instead when the engine has no event store yet.
 */
export function withListeningApp<T>(
  engine: Engine,
  fn: (apiUrl: string, scratch: Scratch) => Promise<T>,
): Promise<T | string> {
  return withScratch(engine, async (scratch) => {
    const missing = tryOpenStore(scratch.db);
    if (typeof missing === 'string') return missing;
    const app = await buildApp({ config: scratch.config, db: scratch.db });
    try {
      const address = await app.listen({ host: '127.0.0.1', port: 0 });
      return await fn(`${address}/api/v1`, scratch);
    } finally {
      await app.close();
    }
  });
}
