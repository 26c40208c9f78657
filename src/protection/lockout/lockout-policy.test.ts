import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultConfig } from '../../config/load.ts';
import { ipDelayMs, windowCutoff } from './lockout-policy.ts';

const settings = { ...defaultConfig().lockout, max_failures: 3, ip_delay_ms: 500 };

describe('ipDelayMs', () => {
  it('is zero below max_failures, then doubles per further failure up to the cap', () => {
    assert.deepEqual(
      [0, 2, 3, 4, 5, 6, 7, 8, 9].map((failures) => ipDelayMs(failures, settings)),
      [0, 0, 500, 1000, 2000, 4000, 8000, 10_000, 10_000],
    );
  });

  it('stays at the cap for any number of failures', () => {
    assert.equal(ipDelayMs(1_000_000, settings), 10_000);
  });
});

describe('windowCutoff', () => {
  it('is window_seconds before now', () => {
    assert.equal(windowCutoff(1_000_000, { ...settings, window_seconds: 60 }), 940_000);
  });
});
