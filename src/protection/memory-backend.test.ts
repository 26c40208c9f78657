import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createMemoryBackend } from './memory-backend.ts';
import { perMinute } from './token-bucket.ts';

const rule = perMinute(60, 2);

it('keeps each key its own bucket on an injected clock', async () => {
  let now = 0;
  const backend = createMemoryBackend({ now: () => now });
  assert.equal((await backend.take('a', rule, 1)).remaining, 1);
  assert.equal((await backend.take('a', rule, 1)).remaining, 0);
  assert.equal((await backend.take('a', rule, 1)).allowed, false);
  assert.equal((await backend.take('b', rule, 1)).remaining, 1, 'b is untouched by a');
  now = 1000;
  assert.equal((await backend.take('a', rule, 1)).allowed, true, 'one token refilled in 1 s');
});

it('is bounded: the least recently used bucket is evicted, looks create nothing', async () => {
  const backend = createMemoryBackend({ maxBuckets: 3, now: () => 0 });
  for (const key of ['a', 'b', 'c']) await backend.take(key, rule, 1);
  await backend.take('a', rule, 1); // a is now the most recently used; b the least
  await backend.take('d', rule, 1);
  assert.equal(backend.size, 3);
  assert.equal((await backend.take('a', rule, 1, true)).remaining, 0, 'a was kept (drained)');
  assert.equal((await backend.take('b', rule, 1, true)).remaining, 2, 'b was evicted: full again');
  for (let n = 0; n < 1000; n++) await backend.take(`look-${n}`, rule, 1, true);
  assert.equal(backend.size, 3);
});
