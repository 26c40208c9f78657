import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AnyKysely } from '../../storage/database.ts';
import type { Tables } from '../../storage/tables.ts';
import {
  type DisabledReason,
  type SealedEndpoint,
  toEndpoint,
  type WebhookEndpoint,
} from './endpoint-record.ts';
import type { WebhookFilters } from './filters.ts';

type EndpointTables = Pick<Tables, 'webhook_endpoints'>;

/** A new endpoint id: `wh_` and 24 base64url characters (144 random bits). */
export const newEndpointId = (): string => `wh_${randomBytes(18).toString('base64url')}`;

export interface EndpointSettings {
  readonly url: string;
  readonly description: string;
  readonly enabled: boolean;
  readonly filters: WebhookFilters;
}

/**
 * `webhook_endpoints`. What the routes reach is keyed by the tenant; the dispatcher's
 * statements (claim, advance, fail) name the lease holder, so a node whose lease ran
 * out (it stalled, another took over) changes nothing.
 */
export function createEndpointStore(on: AnyKysely, now: () => number = Date.now) {
  const kysely: Kysely<EndpointTables> = on;
  const byTenant = (tenantId: string) =>
    kysely.selectFrom('webhook_endpoints').selectAll().where('tenant_id', '=', tenantId);

  return {
    async create(
      tenantId: string,
      id: string,
      settings: EndpointSettings,
      secretBox: string,
      cursor: number,
      createdBy: string | null,
    ): Promise<WebhookEndpoint> {
      const at = now();
      const row = {
        id,
        tenant_id: tenantId,
        url: settings.url,
        description: settings.description,
        enabled: settings.enabled ? 1 : 0,
        disabled_reason: settings.enabled ? null : ('manual' as const),
        filters: JSON.stringify(settings.filters),
        secret_box: secretBox,
        previous_secret_box: null,
        previous_secret_until_ms: null,
        cursor_position: cursor,
        attempts: 0,
        next_attempt_ms: 0,
        failing_since_ms: null,
        last_delivered_ms: null,
        lease_owner: null,
        lease_until_ms: null,
        created_by: createdBy,
        created_ms: at,
        updated_ms: at,
      };
      await kysely.insertInto('webhook_endpoints').values(row).execute();
      return toEndpoint(row);
    },

    /** Whether any tenant has an enabled endpoint (a node starts delivering once one has). */
    async anyEnabled(): Promise<boolean> {
      const row = await kysely
        .selectFrom('webhook_endpoints')
        .select('id')
        .where('enabled', '=', 1)
        .limit(1)
        .executeTakeFirst();
      return row !== undefined;
    },

    async count(tenantId: string): Promise<number> {
      const row = await kysely
        .selectFrom('webhook_endpoints')
        .select((eb) => eb.fn.countAll<number | string>().as('count'))
        .where('tenant_id', '=', tenantId)
        .executeTakeFirstOrThrow();
      return Number(row.count);
    },

    async list(tenantId: string, page: { after?: string | undefined; limit: number }) {
      let query = byTenant(tenantId);
      if (page.after !== undefined) query = query.where('id', '>', page.after);
      const rows = await query.orderBy('id').limit(page.limit).execute();
      return rows.map(toEndpoint);
    },

    async get(tenantId: string, id: string): Promise<WebhookEndpoint | undefined> {
      const row = await byTenant(tenantId).where('id', '=', id).executeTakeFirst();
      return row && toEndpoint(row);
    },

    /** With its sealed secrets (the test ping and manual retries sign with them). */
    async getSealed(tenantId: string, id: string): Promise<SealedEndpoint | undefined> {
      const row = await byTenant(tenantId).where('id', '=', id).executeTakeFirst();
      return (
        row && {
          endpoint: toEndpoint(row),
          secret_box: row.secret_box,
          previous_secret_box: row.previous_secret_box,
        }
      );
    },

    /**
     * New settings. Enabling a disabled endpoint starts its head event's schedule
     * afresh; disabling by hand records why.
     */
    async update(tenantId: string, id: string, settings: EndpointSettings, wasEnabled: boolean) {
      const reenabled = settings.enabled && !wasEnabled;
      await kysely
        .updateTable('webhook_endpoints')
        .set({
          url: settings.url,
          description: settings.description,
          enabled: settings.enabled ? 1 : 0,
          filters: JSON.stringify(settings.filters),
          updated_ms: now(),
          ...(settings.enabled ? { disabled_reason: null } : {}),
          // Disabled by hand: the lease goes too, so re-enabling is taken up at the next poll.
          ...(!settings.enabled && wasEnabled
            ? { disabled_reason: 'manual' as const, lease_owner: null, lease_until_ms: null }
            : {}),
          ...(reenabled ? { attempts: 0, next_attempt_ms: 0, failing_since_ms: null } : {}),
        })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .execute();
    },

    async rotate(
      tenantId: string,
      id: string,
      secretBox: string,
      previousBox: string,
      untilMs: number,
    ) {
      await kysely
        .updateTable('webhook_endpoints')
        .set({
          secret_box: secretBox,
          previous_secret_box: previousBox,
          previous_secret_until_ms: untilMs,
          updated_ms: now(),
        })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .execute();
    },

    /** Delivers again from `position + 1` on; the head's schedule starts afresh. */
    async rewind(tenantId: string, id: string, position: number) {
      await kysely
        .updateTable('webhook_endpoints')
        .set({
          cursor_position: position,
          attempts: 0,
          next_attempt_ms: 0,
          failing_since_ms: null,
          updated_ms: now(),
        })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .execute();
    },

    async delete(tenantId: string, id: string): Promise<boolean> {
      const result = await kysely
        .deleteFrom('webhook_endpoints')
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    // ── the dispatcher's ─────────────────────────────────────────────────────────

    /**
     * Takes up to `limit` enabled endpoints no live lease holds for `owner` until
     * `untilMs`: one UPDATE whose WHERE repeats the claim's conditions, so of nodes
     * racing for an endpoint exactly one gets it. Answers the ids now `owner`'s.
     */
    async claim(owner: string, untilMs: number, limit: number): Promise<string[]> {
      const at = now();
      // Looked for first, so that a poll with nothing to claim writes nothing: on SQLite
      // an UPDATE takes the file's one write lock even when it matches no row.
      const free = (
        await kysely
          .selectFrom('webhook_endpoints')
          .select('id')
          .where('enabled', '=', 1)
          .where((eb) => eb.or([eb('lease_until_ms', 'is', null), eb('lease_until_ms', '<', at)]))
          .orderBy('id')
          .limit(limit)
          .execute()
      ).map((row) => row.id);
      if (free.length === 0) return [];
      const rows = await kysely
        .updateTable('webhook_endpoints')
        .set({ lease_owner: owner, lease_until_ms: untilMs })
        .where('id', 'in', free)
        .where('enabled', '=', 1)
        .where((eb) => eb.or([eb('lease_until_ms', 'is', null), eb('lease_until_ms', '<', at)]))
        .returning('id')
        .execute();
      return rows.map((row) => row.id);
    },

    /** Extends `owner`'s leases; answers those it still holds (enabled ones) and their `updated_ms`. */
    async renew(owner: string, ids: readonly string[], untilMs: number) {
      if (ids.length === 0) return [];
      return kysely
        .updateTable('webhook_endpoints')
        .set({ lease_until_ms: untilMs })
        .where('id', 'in', ids)
        .where('lease_owner', '=', owner)
        .where('enabled', '=', 1)
        .returning(['id', 'updated_ms'])
        .execute();
    },

    /** Gives the leases back (shutting down): another node may take them at once. */
    async release(owner: string, ids: readonly string[]): Promise<void> {
      if (ids.length === 0) return;
      await kysely
        .updateTable('webhook_endpoints')
        .set({ lease_owner: null, lease_until_ms: null })
        .where('id', 'in', ids)
        .where('lease_owner', '=', owner)
        .execute();
    },

    /** The endpoint as `owner` holds it now: undefined when the lease is gone or it was disabled. */
    async held(owner: string, id: string): Promise<SealedEndpoint | undefined> {
      const row = await kysely
        .selectFrom('webhook_endpoints')
        .selectAll()
        .where('id', '=', id)
        .where('lease_owner', '=', owner)
        .where('enabled', '=', 1)
        .executeTakeFirst();
      return (
        row && {
          endpoint: toEndpoint(row),
          secret_box: row.secret_box,
          previous_secret_box: row.previous_secret_box,
        }
      );
    },

    /**
     * Everything up to `position` is done, and the head's failures are `failing` (null:
     * it does not fail). Only while `owner`
     * holds the lease and nobody changed the endpoint since `seenUpdatedMs` (a replay
     * must not be overwritten by a walk that started before it): false otherwise.
     */
    async advance(
      owner: string,
      id: string,
      position: number,
      deliveredMs: number | null,
      seenUpdatedMs: number,
      failing: { attempts: number; nextMs: number; sinceMs: number } | null = null,
    ) {
      const result = await kysely
        .updateTable('webhook_endpoints')
        .set({
          cursor_position: position,
          attempts: failing?.attempts ?? 0,
          next_attempt_ms: failing?.nextMs ?? 0,
          failing_since_ms: failing?.sinceMs ?? null,
          ...(deliveredMs === null ? {} : { last_delivered_ms: deliveredMs }),
        })
        .where('id', '=', id)
        .where('lease_owner', '=', owner)
        .where('updated_ms', '=', seenUpdatedMs)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /** Whether the endpoint still exists (it may have been deleted while being delivered). */
    async exists(id: string): Promise<boolean> {
      const row = await kysely
        .selectFrom('webhook_endpoints')
        .select('id')
        .where('id', '=', id)
        .executeTakeFirst();
      return row !== undefined;
    },

    /** Stops delivering (410, or the schedule ran out); the cursor stays on the head. */
    async disable(owner: string, id: string, reason: DisabledReason): Promise<boolean> {
      const result = await kysely
        .updateTable('webhook_endpoints')
        .set({
          enabled: 0,
          disabled_reason: reason,
          lease_owner: null,
          lease_until_ms: null,
          updated_ms: now(),
        })
        .where('id', '=', id)
        .where('lease_owner', '=', owner)
        .where('enabled', '=', 1)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
  };
}

export type EndpointStore = ReturnType<typeof createEndpointStore>;
