import type { BackupProgress, OnProgress } from '../backup/progress.ts';

/** Where progress goes: process.stderr, or anything with the same few members. */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean | undefined;
  readonly columns?: number | undefined;
}

export interface ProgressOptions {
  /** Milliseconds; injectable so tests need not wait. */
  readonly now?: () => number;
  /** The least time between two redraws of the terminal line. */
  readonly intervalMs?: number;
}

export interface ProgressReporter {
  readonly onProgress: OnProgress;
  /** Ends the output: the last state drawn and the line ended, or the last table's line. */
  done(): void;
}

const DEFAULT_INTERVAL_MS = 100;
const DEFAULT_COLUMNS = 80;
/**
 * Below this a reported width is not believed. A pseudo-terminal nobody sized (a
 * container without a tty size, `script`, some CI runners) reports 0 columns, and a
 * line cut to that shows one character: a line that may wrap is the lesser evil.
 */
const MIN_COLUMNS = 20;

/** The width to draw in: the terminal's, or 80 when it reports none or a nonsense one. */
export function usableColumns(columns: number | undefined): number {
  return columns !== undefined && Number.isFinite(columns) && columns >= MIN_COLUMNS
    ? Math.floor(columns)
    : DEFAULT_COLUMNS;
}

/**
 * Progress of a backup, verify or restore. On a terminal: one line redrawn in place
 * (`\r`), at most every `intervalMs`. Elsewhere (a pipe, a log file, cron): one plain
 * line per table once it is done, never a carriage return, so logs stay readable.
 */
export function progressReporter(
  stream: ProgressStream,
  options: ProgressOptions = {},
): ProgressReporter {
  return stream.isTTY ? terminalReporter(stream, options) : lineReporter(stream);
}

function lineReporter(stream: ProgressStream): ProgressReporter {
  let last: BackupProgress | undefined;
  let printed = true;
  const print = () => {
    if (last && !printed) stream.write(`${last.phase} ${last.table}: ${last.rows} rows\n`);
    printed = true;
  };
  return {
    onProgress(progress) {
      // A table is done when it reaches its count, or (if it never does) when the next begins.
      if (last && (last.phase !== progress.phase || last.table !== progress.table)) print();
      const sameTable = last?.phase === progress.phase && last.table === progress.table;
      last = progress;
      if (!sameTable) printed = false;
      if (progress.rows >= progress.tableRows) print();
    },
    done: print,
  };
}

function terminalReporter(stream: ProgressStream, options: ProgressOptions): ProgressReporter {
  const now = options.now ?? Date.now;
  const interval = options.intervalMs ?? DEFAULT_INTERVAL_MS;
  let pending: BackupProgress | undefined;
  let drawnAt: number | undefined;
  let width = 0;
  const draw = () => {
    if (!pending) return;
    const line = progressLine(pending, usableColumns(stream.columns));
    // Spaces over what is left of a longer previous line, without terminal escape codes.
    stream.write(`\r${line.padEnd(width)}`);
    width = line.length;
    drawnAt = now();
    pending = undefined;
  };
  const endLine = () => {
    draw();
    if (width > 0) stream.write('\n');
    width = 0;
    drawnAt = undefined;
  };
  let phase: string | undefined;
  return {
    onProgress(progress) {
      // Each phase (a restore verifies, then loads) keeps its own finished line.
      if (phase !== undefined && progress.phase !== phase) endLine();
      phase = progress.phase;
      pending = progress;
      if (drawnAt === undefined || now() - drawnAt >= interval) draw();
    },
    done: endLine,
  };
}

/** `backup [#####-----]  50%  events 600/1200`, cut to fit the terminal. */
export function progressLine(progress: BackupProgress, columns: number): string {
  const { phase, table, rows, tableRows, doneRows, totalRows } = progress;
  const fraction = totalRows > 0 ? Math.min(1, doneRows / totalRows) : 1;
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  const barWidth = Math.max(10, Math.min(30, columns - 50));
  const filled = Math.round(fraction * barWidth);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]`;
  const line = `${phase.padEnd(7)} ${bar} ${percent}  ${table} ${rows}/${tableRows}`;
  // One column short of the width: a full line would wrap on some terminals.
  return line.slice(0, Math.max(1, columns - 1));
}
