import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BackupProgress } from '../backup/progress.ts';
import { progressLine, progressReporter, usableColumns } from './progress-bar.ts';

function fakeStream(isTTY: boolean, columns = 80) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, columns, write: (text: string) => writes.push(text) } };
}

/** A manual clock: tests move it, nothing waits. */
function fakeClock() {
  let ms = 1_000;
  return { now: () => ms, advance: (by: number) => (ms += by) };
}

const TOTAL = 1_500;
const step = (
  table: string,
  rows: number,
  tableRows: number,
  doneRows: number,
  phase: BackupProgress['phase'] = 'backup',
): BackupProgress => ({ phase, table, rows, tableRows, doneRows, totalRows: TOTAL });

describe('progressReporter, not on a terminal', () => {
  it('prints one plain line per table as it completes, and no carriage return', () => {
    const { writes, stream } = fakeStream(false);
    const { onProgress, done } = progressReporter(stream);
    onProgress(step('tenants', 0, 0, 0));
    onProgress(step('events', 500, 1000, 500));
    onProgress(step('events', 1000, 1000, 1000));
    // The writer reports a table's final count once more after its last batch.
    onProgress(step('events', 1000, 1000, 1000));
    onProgress(step('users', 200, 500, 1200));
    done();
    assert.deepEqual(writes, [
      'backup tenants: 0 rows\n',
      'backup events: 1000 rows\n',
      // Never reached its count: printed with what it got to when the output ended.
      'backup users: 200 rows\n',
    ]);
    assert.ok(!writes.join('').includes('\r'));
  });

  it('keeps the phases apart (a restore verifies, then loads)', () => {
    const { writes, stream } = fakeStream(false);
    const { onProgress, done } = progressReporter(stream);
    onProgress(step('events', 700, 1000, 700, 'verify'));
    onProgress(step('events', 300, 1000, 300, 'restore'));
    onProgress(step('events', 1000, 1000, 1000, 'restore'));
    done();
    assert.deepEqual(writes, ['verify events: 700 rows\n', 'restore events: 1000 rows\n']);
  });

  it('prints nothing when nothing happened', () => {
    const { writes, stream } = fakeStream(false);
    progressReporter(stream).done();
    assert.deepEqual(writes, []);
  });
});

describe('progressReporter, on a terminal', () => {
  it('redraws one line at most every interval, and ends it on done()', () => {
    const { writes, stream } = fakeStream(true);
    const clock = fakeClock();
    const { onProgress, done } = progressReporter(stream, { now: clock.now, intervalMs: 100 });
    onProgress(step('events', 100, 1000, 100));
    assert.equal(writes.length, 1, 'the first state is drawn at once');
    clock.advance(50);
    onProgress(step('events', 200, 1000, 200));
    onProgress(step('events', 300, 1000, 300));
    assert.equal(writes.length, 1, 'within the interval: not redrawn');
    clock.advance(50);
    onProgress(step('events', 400, 1000, 400));
    assert.equal(writes.length, 2, 'an interval later: redrawn');
    clock.advance(10);
    onProgress(step('events', 1000, 1000, 1000));
    done();
    assert.equal(writes.length, 4, 'done() draws the last state, then ends the line');
    for (const text of writes.slice(0, 3)) assert.ok(text.startsWith('\r'), text);
    assert.match(writes[0] as string, /^\rbackup\s+\[#+-+\]\s+6%\s+events 100\/1000$/);
    assert.match(writes[2] as string, /^\rbackup\s+\[#+-+\]\s+66%\s+events 1000\/1000$/);
    assert.equal(writes[3], '\n');
  });

  it('covers the rest of a longer previous line with spaces', () => {
    const { writes, stream } = fakeStream(true);
    const clock = fakeClock();
    const { onProgress } = progressReporter(stream, { now: clock.now });
    onProgress(step('api_keys_with_a_long_name', 10, 10, 10));
    clock.advance(1_000);
    onProgress(step('events', 1, 10, 11));
    const [first, second] = writes as [string, string];
    assert.equal(second.length, first.length);
    assert.match(second, /events 1\/10 +$/);
  });

  it('ends the line of one phase before the next begins', () => {
    const { writes, stream } = fakeStream(true);
    const clock = fakeClock();
    const { onProgress, done } = progressReporter(stream, { now: clock.now });
    onProgress(step('events', 1000, 1000, 1000, 'verify'));
    onProgress(step('events', 1000, 1000, 1000, 'restore'));
    done();
    assert.equal(writes.join('').split('\n').length - 1, 2);
    assert.match(writes.join(''), /verify .*\n\rrestore .*\n$/);
  });

  // Issue 15: a pseudo-terminal nobody sized reports 0 columns; the bar collapsed to
  // one character.
  for (const columns of [0, undefined, Number.NaN, 1, -5]) {
    it(`draws a full 80-column line when the terminal reports ${columns} columns`, () => {
      const writes: string[] = [];
      const stream = { isTTY: true, columns, write: (text: string) => writes.push(text) };
      const { onProgress, done } = progressReporter(stream);
      onProgress(step('events', 750, 1500, 750));
      done();
      assert.equal(writes[0], `\r${progressLine(step('events', 750, 1500, 750), 80)}`);
      assert.match(writes[0] as string, /^\rbackup\s+\[#{15}-{15}\]\s+50%\s+events 750\/1500$/);
    });
  }

  it('writes nothing, not even a newline, when nothing happened', () => {
    const { writes, stream } = fakeStream(true);
    progressReporter(stream).done();
    assert.deepEqual(writes, []);
  });
});

describe('progressLine', () => {
  it('fills the bar by the share of all rows done', () => {
    const half = progressLine(step('events', 750, 1500, 750), 80);
    assert.match(half, /\[#{15}-{15}\] {2}50%/);
    assert.match(progressLine({ ...step('tenants', 0, 0, 0), totalRows: 0 }, 80), /100%/);
  });

  it('believes a plausible width and refuses a nonsense one', () => {
    assert.equal(usableColumns(120), 120);
    assert.equal(usableColumns(40), 40);
    assert.equal(usableColumns(0), 80);
    assert.equal(usableColumns(undefined), 80);
    assert.equal(usableColumns(Number.POSITIVE_INFINITY), 80);
  });

  it('fits a narrow terminal', () => {
    const line = progressLine(step('events_with_a_very_long_table_name', 1, 2, 1), 40);
    assert.ok(line.length <= 39, line);
  });
});
