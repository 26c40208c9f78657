import type { PostgresDatabase } from './postgres/open-postgres.ts';
import type { SqliteDatabase } from './sqlite/open-sqlite.ts';

/** One implementation per engine, each given its own engine's handle. */
export interface EngineChoices<T> {
  readonly sqlite: (db: SqliteDatabase) => T;
  readonly postgres: (db: PostgresDatabase) => T;
}

/**
 * How code outside `storage/` picks between per-engine implementations without
 * asking which engine it runs on: it hands both over and the handle calls its own.
 * For wiring at open time (a store, a notifier), not per request.
 */
export interface ByEngine {
  byEngine<T>(choices: EngineChoices<T>): T;
}
