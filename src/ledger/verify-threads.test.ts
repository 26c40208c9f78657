import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultConfig } from '../config/load.ts';
import { startVerifyThreads, type VerifyWorkerData } from './verify-threads.ts';

const CRASHING = new URL('../../test/helpers/crashing-verify-worker.ts', import.meta.url);
const SLICE = { partition: 'acme', after: 0, upTo: 100 };

function crashingThreads(crash: 'exit' | 'throw') {
  const data = { storage: defaultConfig().storage, pageSize: 100, checkpoints: true, crash };
  return startVerifyThreads(2, data as VerifyWorkerData, CRASHING);
}

/** What a verifier waiting on a range sees: the verdict or the failure, whichever comes. */
async function outcome(threads: ReturnType<typeof crashingThreads>) {
  try {
    const verdict = await Promise.race([threads.verify(SLICE), threads.failed]);
    return { verdict };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

describe('verify threads that die', () => {
  it('a thread that exits while verifying fails the run with its exit code', async () => {
    const threads = crashingThreads('exit');
    assert.deepEqual(await outcome(threads), {
      error: 'a verify thread exited unexpectedly (exit code 3)',
    });
    // Later ranges are refused at once, and closing ends the thread still alive.
    await assert.rejects(threads.verify(SLICE), /exited unexpectedly/);
    await threads.close();
  });

  it('a thread that throws fails the run with its error', async () => {
    const threads = crashingThreads('throw');
    assert.deepEqual(await outcome(threads), { error: 'the verify thread broke' });
    await threads.close();
  });
});
