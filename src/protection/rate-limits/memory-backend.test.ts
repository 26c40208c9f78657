import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createMemoryBackend } from './memory-backend.ts';
import type { RateLimitBackend } from './rate-limit-backend.ts';
import { type BucketDecision, perMinute } from './token-bucket.ts';

const rule = perMinute(60, 2);

async function take(backend: RateLimitBackend, key: string, lookOnly = false) {
  return (await backend.take([{ key, rule }], 1, lookOnly))[0] as BucketDecision;
}

it('keeps each key its own bucket on an injected clock', async () => {
  let now = 0;
  const backend = createMemoryBackend({ now: () => now });
  assert.equal((await take(backend, 'a')).remaining, 1);
  assert.equal((await take(backend, 'a')).remaining, 0);
  assert.equal((await take(backend, 'a')).allowed, false);
  assert.equal((await take(backend, 'b')).remaining, 1, 'b is untouched by a');
  now = 1000;
  assert.equal((await take(backend, 'a')).allowed, true, 'one token refilled in 1 s');
});

it('takes from several buckets all or nothing', async () => {
  const backend = createMemoryBackend({ now: () => 0 });
  const small = perMinute(1, 1);
  const both = [
    { key: 'big', rule },
    { key: 'small', rule: small },
  ];
  const first = await backend.take(both, 1);
  assert.deepEqual(
    first.map((decision) => [decision.allowed, decision.remaining]),
    [
      [true, 1],
      [true, 0],
    ],
  );
  const refused = await backend.take(both, 1);
  assert.deepEqual(
    refused.map((decision) => [decision.allowed, decision.remaining]),
    [
      [true, 1],
      [false, 0],
    ],
  );
  assert.equal((await take(backend, 'big')).remaining, 0, 'the refusal spent nothing from big');
});

it('is bounded: the least recently used bucket is evicted, looks create nothing', async () => {
  const backend = createMemoryBackend({ maxBuckets: 3, now: () => 0 });
  for (const key of ['a', 'b', 'c']) await take(backend, key);
  await take(backend, 'a'); // a is now the most recently used; b the least
  await take(backend, 'd');
  assert.equal(backend.size, 3);
  assert.equal((await take(backend, 'a', true)).remaining, 0, 'a was kept (drained)');
  assert.equal((await take(backend, 'b', true)).remaining, 2, 'b was evicted: full again');
  for (let n = 0; n < 1000; n++) await take(backend, `look-${n}`, true);
  assert.equal(backend.size, 3);
});

it('a look says whether a token is there and takes nothing', async () => {
  const backend = createMemoryBackend({ now: () => 0 });
  await take(backend, 'k');
  const look = await take(backend, 'k', true);
  assert.deepEqual([look.allowed, look.remaining], [true, 1]);
  await take(backend, 'k');
  const refused = await take(backend, 'k', true);
  assert.deepEqual([refused.allowed, refused.remaining, refused.retryAfterMs], [false, 0, 1000]);
});
