import assert from 'node:assert/strict';
import { it } from 'node:test';
import { defaultConfig } from '../../config/load.ts';
import { tierOf } from '../../config/plan-tiers.ts';
import { bucketKey, rulesFrom } from './rate-limit-rules.ts';
import { perHour, perMinute } from './token-bucket.ts';

const defaults = defaultConfig().rate_limits;

it('gives each tier its numbers and any other plan the unlimited ones', () => {
  const rules = rulesFrom(defaults);
  assert.deepEqual(rules.tenant('free'), perMinute(60, 100));
  assert.deepEqual(rules.tenant('professional'), perMinute(600, 1000));
  assert.deepEqual(rules.tenant('unlimited'), perMinute(10_000, 20_000));
  assert.deepEqual(rules.tenant('dev'), perMinute(100_000, 200_000));
  assert.equal(tierOf('enterprise-gold'), 'unlimited');
  assert.deepEqual(rules.tenant('enterprise-gold'), perMinute(10_000, 20_000));
  assert.deepEqual(rules.ip, perMinute(60, 60));
  assert.deepEqual(rules.email, perHour(10, 10));
});

it("an API key's 0 numbers are its plan's, each set on its own", () => {
  assert.deepEqual(rulesFrom(defaults).apiKey('free'), perMinute(60, 100));
  const rate = rulesFrom({ ...defaults, api_key_per_minute: 5 });
  assert.deepEqual(rate.apiKey('professional'), perMinute(5, 1000));
  const burst = rulesFrom({ ...defaults, api_key_burst: 7 });
  assert.deepEqual(burst.apiKey('dev'), perMinute(100_000, 7));
});

it('keys email buckets by the SHA-256 of the trimmed lower-cased address', () => {
  const key = bucketKey.email(' Ann@Example.COM ');
  assert.equal(key, bucketKey.email('ann@example.com'));
  assert.match(key, /^email:[0-9a-f]{64}$/);
  assert.doesNotMatch(key, /ann|example/);
});
