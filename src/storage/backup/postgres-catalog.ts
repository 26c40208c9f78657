import { type EngineCatalog, quoteIdent } from './catalog.ts';

/** PostgreSQL's catalog, for the tables of the current schema. */
export const POSTGRES_CATALOG: EngineCatalog = {
  async tables(run) {
    const rows = await run(
      'SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()',
    );
    return rows.map((row) => String(row.name));
  },
  async shape(run, table) {
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
  },
};
