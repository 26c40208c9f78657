import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DatabaseBase } from './database.ts';
import type { Tables } from './tables.ts';

type MetaTables = Pick<Tables, 'tessera_meta'>;

const DEPLOYMENT_ID = 'deployment_id';

/**
 * The id of this deployment (one database, however many nodes), created on first use.
 * Insert-if-absent then read, so nodes starting together all end up with the same id.
 */
export async function ensureDeploymentId(db: DatabaseBase): Promise<string> {
  const kysely: Kysely<MetaTables> = db.kysely;
  await kysely
    .insertInto('tessera_meta')
    .values({ key: DEPLOYMENT_ID, value: randomUUID() })
    .onConflict((conflict) => conflict.column('key').doNothing())
    .execute();
  const row = await kysely
    .selectFrom('tessera_meta')
    .select('value')
    .where('key', '=', DEPLOYMENT_ID)
    .executeTakeFirstOrThrow();
  return row.value;
}
