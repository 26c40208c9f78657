import type { SqliteDatabase } from '../../storage/sqlite/open-sqlite.ts';
import { prepared } from './statements.ts';

export function headPosition(db: SqliteDatabase): Promise<number> {
  return db.withRaw(
    (raw) =>
      (
        prepared(raw, 'SELECT position FROM event_log_head WHERE id = 1').get() as {
          position: number;
        }
      ).position,
  );
}
