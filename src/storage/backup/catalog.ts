import { LEDGER_TABLE } from '../migrate.ts';
import type { Catalog, RunQuery, TableShape } from './adapter.ts';

/** Rows a snapshot hands out at a time: small enough to keep the event loop responsive. */
export const BATCH_ROWS = 2000;

/** `"name"`, for identifiers that come from the catalog or the known table list. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Types whose text is JSON, which PostgreSQL normalises (key order, spacing). */
export function isJsonType(type: string): boolean {
  return type === 'jsonb' || type === 'json';
}

/** The engine's own answers to what differs: which tables there are, and their shape. */
export interface EngineCatalog {
  tables(run: RunQuery): Promise<string[]>;
  shape(run: RunQuery, table: string): Promise<TableShape>;
}

/** A Catalog on `run`: the engine's table list and shapes, and plain SQL for the rest. */
export function catalogOn(run: RunQuery, engine: EngineCatalog): Catalog {
  return {
    tables: () => engine.tables(run),
    shape: (table) => engine.shape(run, table),
    async count(table, where) {
      const filter = where ? ` WHERE ${where}` : '';
      const [row] = await run(`SELECT count(*) AS n FROM ${quoteIdent(table)}${filter}`);
      return Number(row?.n ?? 0);
    },
    first: async (text) => (await run(text))[0],
  };
}

/** The highest migration applied, 0 when the database (`tables` present) has no ledger. */
export async function schemaVersionOf(
  catalog: Pick<Catalog, 'first'>,
  tables: readonly string[],
): Promise<number> {
  if (!tables.includes(LEDGER_TABLE)) return 0;
  const row = await catalog.first(`SELECT max(version) AS version FROM ${LEDGER_TABLE}`);
  return Number(row?.version ?? 0);
}

/** Every row of `table` in primary key order, `column` giving each column's expression. */
export function selectRows(
  table: string,
  shape: TableShape,
  column: (name: string, type: string) => string = quoteIdent,
): string {
  const columns = shape.columns.map(({ name, type }) => column(name, type));
  const order = shape.key.length ? ` ORDER BY ${shape.key.map(quoteIdent).join(', ')}` : '';
  return `SELECT ${columns.join(', ')} FROM ${quoteIdent(table)}${order}`;
}
