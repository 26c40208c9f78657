import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cpuPacer, type PacerClock } from './cpu-pacer.ts';

/**
 * A clock the test moves: wall time, this thread's CPU, and the machine's (2 cores),
 * where the other threads and processes keep `othersCores` cores busy all along, sleeps
 * included (a sleep moves the wall clock).
 */
function fakeClock() {
  const state = { wallMs: 0, threadUs: 0, othersUs: 0, othersCores: 0, slept: [] as number[] };
  const pass = (ms: number) => {
    state.wallMs += ms;
    state.othersUs += state.othersCores * ms * 1000;
  };
  const clock: PacerClock = {
    wallMs: () => state.wallMs,
    threadCpuUs: () => state.threadUs,
    machineCpu: () => ({ busyUs: state.threadUs + state.othersUs, cores: 2 }),
    async sleep(ms) {
      state.slept.push(ms);
      pass(ms);
    },
  };
  /** The thread works `cpuMs` of CPU over `wallMs`. */
  const work = (cpuMs: number, wallMs = cpuMs) => {
    state.threadUs += cpuMs * 1000;
    pass(wallMs);
  };
  return { state, clock, work };
}

describe('the delivery thread’s CPU pacer', () => {
  it('never waits while neither the API nor the machine is busy', async () => {
    const { state, clock, work } = fakeClock();
    const pacer = cpuPacer(() => false, 0.05, clock);
    for (let n = 0; n < 100; n++) {
      work(10); // a core's worth: far over the share, but nobody else wants the CPU
      await pacer.pace();
    }
    assert.deepEqual(state.slept, []);
    assert.equal(pacer.busy(), false);
  });

  it('holds the thread to its share of a core while the API is busy', async () => {
    const { state, clock, work } = fakeClock();
    const pacer = cpuPacer(() => true, 0.05, clock);
    for (let n = 0; n < 2000; n++) {
      work(1);
      await pacer.pace();
    }
    // 2 s of CPU at 5% of a core: about 40 s of wall time (the first 20 ms, the burst, free).
    assert.ok(state.slept.length > 0);
    const share = 2000 / state.wallMs;
    assert.ok(share <= 0.05 * 1.02, `used ${(share * 100).toFixed(1)}% of a core`);
    assert.ok(share >= 0.05 * 0.9, `used ${(share * 100).toFixed(1)}% of a core`);
    assert.equal(pacer.busy(), true);
  });

  it('counts the machine busy when the others keep over half its cores working', async () => {
    const { state, clock, work } = fakeClock();
    const pacer = cpuPacer(() => false, 0.1, clock);
    // Others use 1.5 of 2 cores: busy, though the API's event loop is not.
    state.othersCores = 1.5;
    for (let n = 0; n < 50; n++) {
      work(5, 10);
      await pacer.pace();
    }
    assert.equal(pacer.busy(), true);
    assert.ok(state.slept.length > 0);
    // Then they settle to a third of a core: free again, and no more waits.
    state.othersCores = 0.3;
    for (let n = 0; n < 50; n++) {
      work(5, 10);
      await pacer.pace();
    }
    assert.equal(pacer.busy(), false);
    const late = state.slept.length;
    for (let n = 0; n < 20; n++) {
      work(5, 10);
      await pacer.pace();
    }
    assert.equal(state.slept.length, late);
  });

  it('leaves its own CPU out of the machine’s business', async () => {
    const { state, clock, work } = fakeClock();
    const pacer = cpuPacer(() => false, 0.1, clock);
    // The thread itself keeps a whole core busy, the others a fifth of one: not busy.
    state.othersCores = 0.2;
    for (let n = 0; n < 50; n++) {
      work(10, 10);
      await pacer.pace();
    }
    assert.equal(pacer.busy(), false);
    assert.deepEqual(state.slept, []);
  });

  it('with a whole core to spend, never holds back', async () => {
    const { state, clock, work } = fakeClock();
    const pacer = cpuPacer(() => true, 1, clock);
    state.othersCores = 2;
    for (let n = 0; n < 50; n++) {
      work(10, 10);
      await pacer.pace();
    }
    assert.equal(pacer.busy(), false);
    assert.deepEqual(state.slept, []);
  });
});
