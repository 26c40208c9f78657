import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { it } from 'node:test';
import { Redis } from 'ioredis';
import { testRedisUrl } from '../../../test/helpers/app.ts';
import { createRedisTenantSlots, SLOT_LEASE_MS } from './redis-tenant-slots.ts';

it('takes slots only below the cap, frees them, and renewal restores slots Redis lost', async (t) => {
  const url = testRedisUrl(t);
  if (!url) return;
  const redis = new Redis(url);
  // A prefix of this run's own: the shared Redis outlives the test.
  const prefix = `tessera-test:slots:${randomBytes(6).toString('hex')}:`;
  t.after(async () => {
    await redis.del(`${prefix}acme`);
    await redis.quit();
  });
  const slots = createRedisTenantSlots(redis, prefix);

  assert.equal(await slots.acquire('acme', 'a', 2), true);
  assert.equal(await slots.acquire('acme', 'b', 2), true);
  assert.equal(await slots.acquire('acme', 'c', 2), false);
  assert.equal(await slots.acquire('globex', 'c', 2), true, 'another tenant counts apart');
  await redis.del(`${prefix}globex`);
  const ttl = await redis.pttl(`${prefix}acme`);
  assert.ok(ttl > 0 && ttl <= SLOT_LEASE_MS, 'the set expires with its leases');

  await slots.release('acme', 'a');
  assert.equal(await slots.acquire('acme', 'c', 2), true);

  // Redis restarted empty: the holders' next renewal counts their open slots again.
  await redis.del(`${prefix}acme`);
  await slots.renew('acme', ['b', 'c']);
  assert.deepEqual((await redis.zrange(`${prefix}acme`, '0', '-1')).sort(), ['b', 'c']);
  assert.equal(await slots.acquire('acme', 'd', 2), false);
});
