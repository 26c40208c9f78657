import { CommanderError } from 'commander';
import type { OnProgress } from '../backup/progress.ts';
import { isTesseraError } from '../platform/errors.ts';
import { progressReporter } from './progress-bar.ts';
import type { CliIo } from './user.ts';

// How the backup commands exit and show progress, moved out of backup.ts: the exit
// codes, a refusal's exit and the progress display are shared by several commands.

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
/** Stopped by Ctrl-C (SIGINT), as shells report it: 128 + 2. */
export const EXIT_INTERRUPTED = 130;

/** Runs `fn` with a progress display on stderr (stdout stays for the result). */
export async function withProgress<T>(
  io: CliIo,
  fn: (onProgress: OnProgress) => Promise<T>,
): Promise<T> {
  const reporter = progressReporter(io.stderr);
  try {
    return await fn(reporter.onProgress);
  } finally {
    reporter.done();
  }
}

/**
 * For the commands that work on files alone (or on a database that may be empty, so
 * not through runAdmin): a refusal (4xx) prints its detail and exits 1 (2 for bad input).
 */
export async function runRefusing<T>(io: CliIo, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (!isTesseraError(error) || error.status >= 500) throw error;
    io.stderr.write(`tessera: ${error.detail}\n`);
    const exitCode = error.status === 400 ? EXIT_USAGE : EXIT_FAILURE;
    throw new CommanderError(exitCode, `tessera.${error.code}`, error.detail);
  }
}
