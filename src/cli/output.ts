import type { CliIo } from './user.ts';

type Row = Readonly<Record<string, unknown>>;

/** One value as a table cell or a `key: value` line: times stay ISO, null is `-`. */
function cell(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (Array.isArray(value)) return value.map(cell).join(',');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** Rows as JSON (`--json`), or as an aligned text table of `columns`. */
export function printRows(
  io: CliIo,
  json: boolean | undefined,
  rows: readonly Row[],
  columns: readonly string[],
): void {
  if (json) {
    io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  if (rows.length === 0) {
    io.stdout.write('(none)\n');
    return;
  }
  const cells = rows.map((row) => columns.map((column) => cell(row[column])));
  const widths = columns.map((column, i) =>
    Math.max(column.length, ...cells.map((line) => (line[i] as string).length)),
  );
  const line = (values: readonly string[]) =>
    values
      .map((value, i) => value.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  io.stdout.write(
    `${[line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n')}\n`,
  );
}

/** One record as JSON, or as `key: value` lines. */
export function printRecord(io: CliIo, json: boolean | undefined, record: Row): void {
  if (json) {
    io.stdout.write(`${JSON.stringify(record, null, 2)}\n`);
    return;
  }
  const width = Math.max(...Object.keys(record).map((key) => key.length));
  const lines = Object.entries(record).map(
    ([key, value]) => `${`${key}:`.padEnd(width + 1)} ${cell(value)}`,
  );
  io.stdout.write(`${lines.join('\n')}\n`);
}
