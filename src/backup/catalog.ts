import type { Engine } from '../storage/database.ts';
import { type Column, LEDGER_TABLE } from './tables.ts';

/** Runs one statement and returns its rows as objects: a snapshot's connection or a transaction. */
export type RunQuery = (
  text: string,
  params?: readonly (string | number)[],
) => Promise<Record<string, unknown>[]>;

export interface TableShape {
  readonly columns: readonly Column[];
  /** Primary key columns, in key order: rows are written in this order. */
  readonly key: readonly string[];
}

/** `"name"`, for identifiers that come from the catalog or the known table list. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The user tables of the database (SQLite's own excluded), in no particular order. */
export async function listTables(engine: Engine, run: RunQuery): Promise<string[]> {
  const rows =
    engine === 'sqlite'
      ? await run(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
        )
      : await run('SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()');
  return rows.map((row) => String(row.name));
}

/** Columns in declaration order with their declared types, and the primary key. */
export async function tableShape(
  engine: Engine,
  run: RunQuery,
  table: string,
): Promise<TableShape> {
  if (engine === 'sqlite') {
    const rows = await run('SELECT name, type, pk FROM pragma_table_info(?) ORDER BY cid', [table]);
    const key = rows
      .filter((row) => Number(row.pk) > 0)
      .sort((a, b) => Number(a.pk) - Number(b.pk))
      .map((row) => String(row.name));
    return {
      columns: rows.map((row) => ({ name: String(row.name), type: String(row.type) })),
      key,
    };
  }
  const relation = 'to_regclass(quote_ident(current_schema()) || $1)';
  const dotted = `.${quoteIdent(table)}`;
  const columns = await run(
    `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
      WHERE attrelid = ${relation} AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    [dotted],
  );
  const key = await run(
    `SELECT a.attname AS name
       FROM pg_index i
       CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = ${relation} AND i.indisprimary
      ORDER BY k.ord`,
    [dotted],
  );
  return {
    columns: columns.map((row) => ({ name: String(row.name), type: String(row.type) })),
    key: key.map((row) => String(row.name)),
  };
}

/** Rows of `table` matching `where` (SQL from code, never from input), or all. */
export async function countRows(run: RunQuery, table: string, where?: string): Promise<number> {
  const filter = where ? ` WHERE ${where}` : '';
  const [row] = await run(`SELECT count(*) AS n FROM ${quoteIdent(table)}${filter}`);
  return Number(row?.n ?? 0);
}

/** The highest migration applied, 0 when the database (`tables` present) has no ledger. */
export async function schemaVersionOf(run: RunQuery, tables: readonly string[]): Promise<number> {
  if (!tables.includes(LEDGER_TABLE)) return 0;
  const [row] = await run(`SELECT max(version) AS version FROM ${LEDGER_TABLE}`);
  return Number(row?.version ?? 0);
}
