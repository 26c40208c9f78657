import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createMemoryBackend } from '../src/protection/rate-limits/memory-backend.ts';
import type { RateLimitBackend } from '../src/protection/rate-limits/rate-limit-backend.ts';
import { createRedisBackend } from '../src/protection/rate-limits/redis-backend.ts';
import { perMinute } from '../src/protection/rate-limits/token-bucket.ts';

export interface RateLimitFigure {
  readonly backend: string;
  readonly concurrency: number;
  readonly takesPerSecond: number;
  readonly meanMicros: number;
}

// Never refuses in the run: the figure is the cost of a decision, not of a refusal.
const RULE = perMinute(100_000_000, 100_000_000);
// Spread over many buckets like real traffic (IPs, tenants), not one hot key.
const KEYS = Array.from({ length: 10_000 }, (_, n) => `ip:10.0.${n >> 8}.${n & 255}`);
const bucket = (n: number) => ({ key: KEYS[n % KEYS.length] as string, rule: RULE });

/**
 * The limiter's own cost per request: takes per second through each backend, with
 * `concurrency` takes in flight (the HTTP server has many requests in flight at once).
 * Redis runs when `redisUrl` is given (its own key prefix, deleted after).
 */
export async function benchRateLimits(
  durationMs: number,
  redisUrl: string | undefined,
): Promise<RateLimitFigure[]> {
  const figures: RateLimitFigure[] = [];
  figures.push(await load('memory', createMemoryBackend(), 1, durationMs));
  if (!redisUrl) return figures;
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const prefix = `bench:${randomUUID()}:`;
  try {
    const backend = createRedisBackend(redis, { keyPrefix: prefix });
    for (const concurrency of [1, 32]) {
      figures.push(await load('Redis', backend, concurrency, durationMs));
    }
  } finally {
    const keys = await redis.keys(`${prefix}*`);
    for (let n = 0; n < keys.length; n += 1000) await redis.del(...keys.slice(n, n + 1000));
    redis.disconnect();
  }
  return figures;
}

async function load(
  name: string,
  backend: RateLimitBackend,
  concurrency: number,
  durationMs: number,
): Promise<RateLimitFigure> {
  // Warm-up: the script is loaded, the JIT has seen the path.
  for (let n = 0; n < 200; n++) await backend.take([bucket(n)], 1);
  let takes = 0;
  let busyMs = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  const worker = async (offset: number) => {
    for (let n = offset; performance.now() < deadline; n += concurrency) {
      const before = performance.now();
      await backend.take([bucket(n)], 1);
      busyMs += performance.now() - before;
      takes++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, n) => worker(n)));
  const seconds = (performance.now() - started) / 1000;
  return {
    backend: name,
    concurrency,
    takesPerSecond: Math.round(takes / seconds),
    meanMicros: Math.round((busyMs / takes) * 1000),
  };
}

export function rateLimitTable(figures: readonly RateLimitFigure[]): string {
  const rows = figures.map(
    (figure) =>
      `| ${figure.backend} | ${figure.concurrency} | ${figure.takesPerSecond.toLocaleString('en-US')} | ${figure.meanMicros.toLocaleString('en-US')} |`,
  );
  return [
    '| Backend | In flight | Takes/s | Mean µs per take |',
    '| ------- | --------: | ------: | ---------------: |',
    ...rows,
  ].join('\n');
}
