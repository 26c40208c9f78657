/**
 * SQLite extended result codes for a violated UNIQUE or PRIMARY KEY constraint
 * (https://sqlite.org/rescode.html): a text primary key such as `tenants.id` reports
 * the second, not the first.
 */
const SQLITE_CONSTRAINT_UNIQUE = 2067;
const SQLITE_CONSTRAINT_PRIMARYKEY = 1555;
/** PostgreSQL SQLSTATE `unique_violation`, raised for primary keys too. */
const POSTGRES_UNIQUE_VIOLATION = '23505';

/**
 * True when a write failed because a row with the same unique key exists. Stores
 * insert and catch this instead of reading first, so two concurrent writers (two
 * nodes on one PostgreSQL) cannot both pass a check and both insert.
 */
export function isUniqueViolation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  if ('errcode' in error) {
    const { errcode } = error;
    return errcode === SQLITE_CONSTRAINT_UNIQUE || errcode === SQLITE_CONSTRAINT_PRIMARYKEY;
  }
  return 'code' in error && error.code === POSTGRES_UNIQUE_VIOLATION;
}
