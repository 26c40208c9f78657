/** The log a periodic job writes to: its failures, and what a run did. */
export interface PeriodicLog {
  error(object: object, message: string): void;
  info(object: object, message: string): void;
  debug(object: object, message: string): void;
}

/**
 * Runs `run` every `intervalMs` on this node, one run at a time (a run still going
 * when the next is due makes that one skip). A failure is logged, never thrown, and
 * the timer never keeps the process alive. Returns the stop function, which waits for
 * a run in progress: call it before the database closes.
 */
export function everyInterval(
  run: () => Promise<void>,
  intervalMs: number,
  log: Pick<PeriodicLog, 'error'>,
  failure: string,
): () => Promise<void> {
  let stopped = false;
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (stopped || running) return;
    running = run()
      .catch((error: unknown) => log.error({ err: error }, failure))
      .finally(() => {
        running = undefined;
      });
  }, intervalMs);
  timer.unref();
  return async () => {
    stopped = true;
    clearInterval(timer);
    await running;
  };
}
