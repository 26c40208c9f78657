import pg from 'pg';

const INT8_OID = 20;

/**
 * `bigint` columns (positions, counts) as JS numbers instead of strings. A value
 * beyond 2^53-1 fails the query rather than come back silently rounded, which is
 * also what `node:sqlite` does, so both engines behave alike.
 */
export function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`PostgreSQL int8 ${text} is beyond Number.MAX_SAFE_INTEGER`);
  }
  return value;
}

/**
 * Per pool (the `types` option), not `pg.types.setTypeParser`, which would change
 * every `pg` user in the process.
 */
export const INT8_AS_NUMBER: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? parseInt8
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};
