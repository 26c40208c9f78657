import { Redis } from 'ioredis';
import { maskUrlPassword } from '../config/render.ts';

export interface RedisLogger {
  warn(object: object, message: string): void;
  info(object: object, message: string): void;
}

/** Reconnect delays grow to at most this, and reconnecting never stops. */
const MAX_RECONNECT_DELAY_MS = 2000;

/**
 * A Redis client that never delays or breaks start-up: it connects in the
 * background, keeps retrying with a capped backoff (Redis coming back later must
 * just work), and fails a command after one reconnect attempt instead of queueing it
 * forever. Connection errors are logged once per outage: an 'error' event without a
 * listener would crash the process.
 */
export function openRedis(url: string, logger?: RedisLogger): Redis {
  const redis = new Redis(url, {
    connectTimeout: 2000,
    // disconnect() arms a timer (default 2 s) that outlives an already-closed socket
    // and holds the process open at shutdown when Redis was down; keep it short.
    disconnectTimeout: 300,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 10), MAX_RECONNECT_DELAY_MS),
  });
  let down = false;
  redis.on('error', (error: Error) => {
    if (down) return;
    down = true;
    logger?.warn(
      { err: error, redis: maskUrlPassword(url) },
      'redis unavailable; retrying in the background',
    );
  });
  redis.on('ready', () => {
    if (down) logger?.info({ redis: maskUrlPassword(url) }, 'redis available again');
    down = false;
  });
  return redis;
}

/** True when Redis answers PING within `timeoutMs`. Never throws: health checks call it. */
export async function pingRedis(redis: Redis, timeoutMs = 1000): Promise<boolean> {
  if (redis.status === 'end') return false;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
    timer.unref();
  });
  const answered = redis.ping().then(
    (reply) => reply === 'PONG',
    () => false,
  );
  try {
    return await Promise.race([answered, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** Rejects when `promise` does not settle within `ms`: a Redis that hangs must not hold a request. */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`redis did not answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timedOut]).finally(() => clearTimeout(timer));
}
