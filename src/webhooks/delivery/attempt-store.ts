import { randomBytes } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { AnyKysely } from '../../storage/database.ts';
import type { Tables, WebhookAttemptRow } from '../../storage/tables.ts';

type AttemptTables = Pick<Tables, 'webhook_attempts'>;

export type WebhookAttempt = Selectable<WebhookAttemptRow>;
export type NewAttempt = Omit<WebhookAttempt, 'id'>;

/**
 * An attempt id that sorts by time: `wa_`, the creation time in base 36 (fixed width)
 * and 64 random bits. The delivery log pages newest first by id alone.
 */
export function newAttemptId(nowMs: number): string {
  return `wa_${nowMs.toString(36).padStart(9, '0')}${randomBytes(8).toString('hex')}`;
}

/** `webhook_attempts`: the delivery log. Routes read it by tenant and endpoint only. */
export function createAttemptStore(on: AnyKysely) {
  const kysely: Kysely<AttemptTables> = on;
  return {
    async insert(attempts: readonly NewAttempt[]): Promise<WebhookAttempt[]> {
      if (attempts.length === 0) return [];
      const rows = attempts.map((attempt) => ({
        id: newAttemptId(attempt.created_ms),
        ...attempt,
      }));
      await kysely.insertInto('webhook_attempts').values(rows).execute();
      return rows;
    },

    /** Newest first; `before`: the `next_cursor` of the previous page. */
    async list(
      tenantId: string,
      endpointId: string,
      page: { before?: string | undefined; limit: number },
    ): Promise<WebhookAttempt[]> {
      let query = kysely
        .selectFrom('webhook_attempts')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('endpoint_id', '=', endpointId);
      if (page.before !== undefined) query = query.where('id', '<', page.before);
      return query.orderBy('id', 'desc').limit(page.limit).execute();
    },

    async get(tenantId: string, endpointId: string, id: string) {
      return kysely
        .selectFrom('webhook_attempts')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('endpoint_id', '=', endpointId)
        .where('id', '=', id)
        .executeTakeFirst();
    },

    /** Forgets attempts made before `beforeMs`, at most `limit` of them per call. */
    async purge(beforeMs: number, limit: number): Promise<number> {
      const old = kysely
        .selectFrom('webhook_attempts')
        .select('id')
        .where('created_ms', '<', beforeMs)
        .limit(limit);
      const result = await kysely
        .deleteFrom('webhook_attempts')
        .where('id', 'in', old)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

export type AttemptStore = ReturnType<typeof createAttemptStore>;
