import type { EngineCatalog } from './catalog.ts';

/** SQLite's catalog: `sqlite_master` and `pragma_table_info`. */
export const SQLITE_CATALOG: EngineCatalog = {
  async tables(run) {
    const rows = await run(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
    );
    return rows.map((row) => String(row.name));
  },
  async shape(run, table) {
    const rows = await run('SELECT name, type, pk FROM pragma_table_info(?) ORDER BY cid', [table]);
    const key = rows
      .filter((row) => Number(row.pk) > 0)
      .sort((a, b) => Number(a.pk) - Number(b.pk))
      .map((row) => String(row.name));
    return {
      columns: rows.map((row) => ({ name: String(row.name), type: String(row.type) })),
      key,
    };
  },
};
