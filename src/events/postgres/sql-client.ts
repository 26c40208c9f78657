import { CompiledQuery } from 'kysely';
import type { AnyKysely } from '../../storage/database.ts';

/**
 * The part of a `pg` client the append statements use, so they also run inside a
 * Kysely transaction (an audit event written with the change it records).
 */
export interface SqlClient {
  query<R>(config: {
    readonly name?: string;
    readonly text: string;
    readonly values: readonly unknown[];
  }): Promise<{ readonly rows: R[] }>;
}

/** A Kysely transaction seen as a SqlClient (statement names are a pool-client optimisation). */
export function sqlClientOf(trx: AnyKysely): SqlClient {
  return {
    async query<R>(config: { readonly text: string; readonly values: readonly unknown[] }) {
      const result = await trx.executeQuery<R>(CompiledQuery.raw(config.text, [...config.values]));
      return { rows: [...result.rows] };
    },
  };
}
