import { buildApp } from '../src/app.ts';
import { composeServices } from '../src/composition-root.ts';
import type { Config } from '../src/config/schema.ts';
import type { Engine } from '../src/storage/database.ts';
import { type Scratch, TENANT, tryOpenStore, withScratch } from './events-fixture.ts';

/**
 * Tessera listening on 127.0.0.1 over a fresh scratch database while `fn` runs
 * (given the API base URL); a string instead when the engine has no event store yet.
 */
export function withListeningApp<T>(
  engine: Engine,
  fn: (apiUrl: string, scratch: Scratch, apiKey: string) => Promise<T>,
  /** Settings of this run beside the scratch database's (the webhooks bench's receivers). */
  configure: (config: Config) => Config = (config) => config,
): Promise<T | string> {
  return withScratch(engine, async (scratch) => {
    const missing = tryOpenStore(scratch.db);
    if (typeof missing === 'string') return missing;
    const config = configure(scratch.config);
    const services = composeServices(scratch.db, config);
    const app = await buildApp({ config, db: scratch.db, services });
    try {
      // An admin key of the bench tenant: what a service calling Tessera would hold.
      // Its plan decides its quotas: unlimited by default (a limited plan's preset would
      // refuse a run's volume); BENCH_PLAN=professional measures the checked path.
      const plan = process.env.BENCH_PLAN ?? 'unlimited';
      await services.tenancy.tenants.create({ id: TENANT, name: TENANT, plan });
      const { secret } = await services.identity.apiKeys.create({
        tenant_id: TENANT,
        name: 'bench',
        role: 'admin',
        created_by: null,
        expires_ms: null,
      });
      const address = await app.listen({ host: '127.0.0.1', port: 0 });
      return await fn(`${address}/api/v1`, scratch, secret);
    } finally {
      await app.close();
    }
  });
}
