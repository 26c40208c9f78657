import type { Config } from '../config/schema.ts';
import {
  openPostgres,
  type PostgresDatabase,
  type PostgresOptions,
} from './postgres/open-postgres.ts';
import { openSqlite, type SqliteDatabase } from './sqlite/open-sqlite.ts';

export type Database = SqliteDatabase | PostgresDatabase;
export type { PostgresDatabase, SqliteDatabase };

export type OpenDatabaseOptions = PostgresOptions;

/**
 * Empty `database_url`: the embedded SQLite file `<data_dir>/tessera.db`. A postgres://
 * URL: PostgreSQL, connected once here so an unreachable server fails start-up.
 */
export function openDatabase(
  storage: Config['storage'],
  options: OpenDatabaseOptions = {},
): Promise<Database> {
  const url = storage.database_url;
  if (url === '') return openSqlite(storage);
  if (/^postgres(ql)?:\/\//.test(url)) return openPostgres(storage, options);
  return Promise.reject(
    new Error('storage.database_url must be empty (SQLite) or a postgres:// URL'),
  );
}
