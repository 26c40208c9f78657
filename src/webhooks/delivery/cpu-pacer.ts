import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

/** CPU time the thread may spend at once, from rest, before its share applies. */
const BURST_US = 20_000;
/** How often the machine's CPUs are looked at. */
const LOOK_EVERY_MS = 100;
/** Other threads and processes using more than this share of the machine's cores: busy. */
const MACHINE_BUSY = 0.5;

/** What the pacer reads and how it waits; the system's, or a test's. */
export interface PacerClock {
  wallMs(): number;
  /** CPU time this thread has used, in microseconds. */
  threadCpuUs(): number;
  /** CPU time all cores of the machine have spent busy, in microseconds, and how many cores. */
  machineCpu(): { busyUs: number; cores: number };
  sleep(ms: number): Promise<void>;
}

export const systemClock: PacerClock = {
  wallMs: () => performance.now(),
  threadCpuUs() {
    const { user, system } = process.threadCpuUsage();
    return user + system;
  },
  machineCpu() {
    const all = cpus();
    let busyMs = 0;
    for (const { times } of all) busyMs += times.user + times.nice + times.sys + times.irq;
    return { busyUs: busyMs * 1000, cores: all.length };
  },
  sleep: (ms) => sleep(ms),
};

/**
 * Holds a background thread's work back while the node is busy, so that it spends at
 * most `share` of one core then: a bucket of CPU microseconds refilled at that rate and
 * charged with all the thread used since the last call. Busy means the API's event
 * loop says so (`apiBusy`), or the rest of the machine (other threads, other processes
 * such as a local PostgreSQL) keeps more than half its cores working. Otherwise it never
 * waits: the thread then uses CPU nobody else wants.
 */
export function cpuPacer(apiBusy: () => boolean, share: number, clock: PacerClock = systemClock) {
  let tokens = BURST_US;
  let at = clock.wallMs();
  let cpu = clock.threadCpuUs();
  let looked = { at, cpu, machine: clock.machineCpu().busyUs };
  let othersBusy = false;

  /** Whether the others kept the machine busy since the last look (this thread's own use left out). */
  function lookAtMachine(now: number, ownUs: number): void {
    if (now - looked.at < LOOK_EVERY_MS) return;
    const { busyUs, cores } = clock.machineCpu();
    const others = busyUs - looked.machine - (ownUs - looked.cpu);
    othersBusy = others > MACHINE_BUSY * cores * (now - looked.at) * 1000;
    looked = { at: now, cpu: ownUs, machine: busyUs };
  }

  return {
    /** Whether the node was busy at the last look (never, with a whole core to spend). */
    busy: () => share < 1 && (apiBusy() || othersBusy),
    /** Waits, when the node is busy, until the thread is back within its share. */
    async pace(): Promise<void> {
      const now = clock.wallMs();
      const ownUs = clock.threadCpuUs();
      tokens = Math.min(BURST_US, tokens + (now - at) * 1000 * share) - (ownUs - cpu);
      at = now;
      cpu = ownUs;
      lookAtMachine(now, ownUs);
      if (share >= 1 || (!apiBusy() && !othersBusy)) {
        tokens = BURST_US;
        return;
      }
      if (tokens < 0) await clock.sleep(Math.ceil(-tokens / share / 1000));
    },
  };
}

export type CpuPacer = ReturnType<typeof cpuPacer>;
