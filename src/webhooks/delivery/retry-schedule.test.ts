import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { retryDelayMs } from './retry-schedule.ts';

describe('webhook retry schedule', () => {
  const schedule = [5, 300, 1800];

  it('waits the n-th entry after the n-th failure, within ±10%', () => {
    assert.equal(
      retryDelayMs(schedule, 1, () => 0.5),
      5000,
    );
    assert.equal(
      retryDelayMs(schedule, 2, () => 0),
      270_000,
    );
    assert.equal(
      retryDelayMs(schedule, 3, () => 1),
      1_980_000,
    );
  });

  it('gives up once the schedule is spent', () => {
    assert.equal(
      retryDelayMs(schedule, 4, () => 0.5),
      null,
    );
  });

  it('spans about three days with the default schedule', () => {
    const defaults = [5, 300, 1800, 7200, 18_000, 36_000, 50_400, 72_000, 72_000];
    let total = 0;
    for (let failures = 1; ; failures += 1) {
      const delay = retryDelayMs(defaults, failures, () => 0.5);
      if (delay === null) break;
      total += delay;
    }
    assert.ok(total > 2.9 * 86_400_000 && total < 3.1 * 86_400_000, `${total / 3_600_000} h`);
  });
});
