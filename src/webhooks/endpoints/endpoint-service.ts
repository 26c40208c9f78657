import type { Actor } from '../../access/actor.ts';
import { AccessErrors } from '../../access/errors.ts';
import type { Permission } from '../../access/permissions.ts';
import type { AuditEntry } from '../../audit/audit-entry.ts';
import { auditPartition } from '../../audit/audit-entry.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { Config } from '../../config/schema.ts';
import type { EventStore } from '../../events/store.ts';
import type { LockTenant } from '../../identity/tenancy-port.ts';
import type { SecretSealer } from '../../identity/tokens/secret-sealer.ts';
import { TesseraError } from '../../platform/errors.ts';
import { newId } from '../../platform/secrets.ts';
import { validationFailed } from '../../platform/validation-failed.ts';
import type { AnyKysely, DatabaseBase } from '../../storage/database.ts';
import { checkWebhookQuota } from '../../tenancy/quotas/webhook-quota.ts';
import {
  createAttemptStore,
  type NewAttempt,
  type WebhookAttempt,
} from '../delivery/attempt-store.ts';
import { messageOf, pingOf } from '../delivery/message.ts';
import type { MessageSender } from '../delivery/send-message.ts';
import { WebhookErrors } from '../errors.ts';
import { newSigningSecret } from '../signing/signing-secret.ts';
import type { SealedEndpoint, WebhookEndpoint } from './endpoint-record.ts';
import { createEndpointStore, type EndpointSettings, newEndpointId } from './endpoint-store.ts';
import { urlProblem } from './endpoint-url.ts';
import { filterProblems, type WebhookFilters } from './filters.ts';

export interface EndpointInput {
  readonly url: string;
  readonly description?: string | undefined;
  readonly enabled?: boolean | undefined;
  readonly event_types?: readonly string[] | undefined;
  readonly entity_prefix?: string | null | undefined;
  readonly platform_events?: readonly string[] | undefined;
}

export type EndpointChanges = Partial<EndpointInput>;

export interface EndpointServiceDeps {
  readonly db: Pick<DatabaseBase, 'transaction' | 'kysely'>;
  readonly audit: AuditLog;
  readonly events: Pick<EventStore, 'headPosition' | 'getEvent'>;
  readonly sealer: SecretSealer;
  readonly send: MessageSender;
  /** Tenancy's `max_webhooks` of the tenant (0: unlimited), read before the transaction. */
  readonly quotaLimit: (tenantId: string) => Promise<number>;
  readonly settings: Pick<
    Config['webhooks'],
    | 'max_endpoints_per_tenant'
    | 'allow_insecure_urls'
    | 'allow_private_networks'
    | 'secret_grace_seconds'
  >;
  /** Tenancy's: serializes the count of a tenant's endpoints with the insert it bounds. */
  readonly lockTenant: LockTenant;
  /** Tells this node's dispatcher to look now and read its rows afresh (any change). */
  readonly wake: () => void;
  readonly now?: (() => number) | undefined;
}

const notFound = () =>
  new TesseraError(
    WebhookErrors.webhook_not_found,
    'This tenant has no webhook endpoint with that id.',
  );

const deliveryNotFound = () =>
  new TesseraError(
    WebhookErrors.webhook_delivery_not_found,
    'This endpoint has no delivery with that id (the log keeps them for webhooks.attempt_retention_days).',
  );

/** What the trail keeps of an endpoint: where it points and what it receives. */
function auditDetails(endpoint: WebhookEndpoint): Record<string, unknown> {
  return {
    url: endpoint.url,
    enabled: endpoint.enabled,
    event_types: endpoint.filters.event_types,
    entity_prefix: endpoint.filters.entity_prefix,
    platform_events: endpoint.filters.platform_events,
  };
}

/**
 * A tenant's webhook endpoints (`/webhooks`). An endpoint sends what it receives out
 * of Tessera, so its filters may only reach what the caller may read: event-store
 * events need `events:read`, platform events (the audit trail) `audit:read`.
 */
export function createEndpointService(deps: EndpointServiceDeps) {
  const { db, audit, sealer, settings } = deps;
  const now = deps.now ?? Date.now;
  const storeOn = (on: AnyKysely) => createEndpointStore(on, now);
  const entry = (
    actor: Actor,
    action: string,
    endpoint: WebhookEndpoint,
    extra = {},
  ): AuditEntry => ({
    tenant_id: actor.principal.tenantId,
    action,
    target: `webhook:${endpoint.id}`,
    outcome: 'success',
    details: { ...auditDetails(endpoint), ...extra },
  });

  function settingsOf(actor: Actor, input: EndpointInput): EndpointSettings {
    const filters: WebhookFilters = {
      event_types: [...(input.event_types ?? [])],
      entity_prefix: input.entity_prefix ?? null,
      platform_events: [...(input.platform_events ?? [])],
    };
    const problems = filterProblems(filters);
    const url = urlProblem(input.url, {
      allowInsecure: settings.allow_insecure_urls,
      allowPrivate: settings.allow_private_networks,
    });
    if (url) problems.unshift(url);
    if (problems.length > 0) throw validationFailed(problems);
    const needs: [boolean, Permission][] = [
      [filters.event_types.length > 0, 'events:read'],
      [filters.platform_events.length > 0, 'audit:read'],
    ];
    for (const [wanted, permission] of needs) {
      if (wanted && !actor.principal.permissions.has(permission)) {
        throw new TesseraError(
          AccessErrors.permission_denied,
          `An endpoint receiving ${permission === 'events:read' ? 'event-store events' : 'platform events'} sends them out of Tessera: it needs a caller holding ${permission}.`,
          { extensions: { permission } },
        );
      }
    }
    return {
      url: input.url,
      description: (input.description ?? '').trim(),
      enabled: input.enabled ?? true,
      filters,
    };
  }

  async function sealedOf(actor: Actor, id: string): Promise<SealedEndpoint> {
    const found = await storeOn(db.kysely).getSealed(actor.principal.tenantId, id);
    if (!found) throw notFound();
    return found;
  }

  function limitReached(count: number): TesseraError {
    const limit = settings.max_endpoints_per_tenant;
    return new TesseraError(
      WebhookErrors.webhook_limit_reached,
      `This tenant has ${count} webhook endpoints, the most it may have (${limit}); delete one first.`,
      { extensions: { limit } },
    );
  }

  async function recordAttempt(attempt: NewAttempt): Promise<WebhookAttempt> {
    const [saved] = await createAttemptStore(db.kysely).insert([attempt]);
    return saved as WebhookAttempt;
  }

  return {
    async create(
      actor: Actor,
      input: EndpointInput,
    ): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
      const tenantId = actor.principal.tenantId;
      const wanted = settingsOf(actor, input);
      const secret = newSigningSecret();
      const id = newEndpointId();
      // From now on: what was appended before the endpoint existed is not due to it (a
      // replay reaches back). Read before the insert, so nothing in between is missed.
      const cursor = await deps.events.headPosition();
      const quota = await deps.quotaLimit(tenantId);
      const endpoint = await db.transaction(async (trx: AnyKysely) => {
        const endpoints = storeOn(trx);
        await deps.lockTenant(trx, tenantId);
        await checkWebhookQuota(trx, (tenant) => endpoints.count(tenant), tenantId, quota);
        const count = await endpoints.count(tenantId);
        if (count >= settings.max_endpoints_per_tenant) throw limitReached(count);
        const made = await endpoints.create(
          tenantId,
          id,
          wanted,
          sealer.seal(id, secret),
          cursor,
          actor.principal.userId,
        );
        await audit.inTransaction(trx, actor.audit, [entry(actor, 'webhook.created', made)]);
        return made;
      });
      deps.wake();
      return { endpoint, secret };
    },

    list(actor: Actor, page: { after?: string | undefined; limit: number }) {
      return storeOn(db.kysely).list(actor.principal.tenantId, page);
    },

    async get(actor: Actor, id: string): Promise<WebhookEndpoint> {
      const found = await storeOn(db.kysely).get(actor.principal.tenantId, id);
      if (!found) throw notFound();
      return found;
    },

    async update(actor: Actor, id: string, changes: EndpointChanges): Promise<WebhookEndpoint> {
      const tenantId = actor.principal.tenantId;
      const updated = await db.transaction(async (trx: AnyKysely) => {
        const endpoints = storeOn(trx);
        const was = await endpoints.get(tenantId, id);
        if (!was) throw notFound();
        const wanted = settingsOf(actor, {
          url: changes.url ?? was.url,
          description: changes.description ?? was.description,
          enabled: changes.enabled ?? was.enabled,
          event_types: changes.event_types ?? was.filters.event_types,
          entity_prefix:
            changes.entity_prefix === undefined ? was.filters.entity_prefix : changes.entity_prefix,
          platform_events: changes.platform_events ?? was.filters.platform_events,
        });
        await endpoints.update(tenantId, id, wanted, was.enabled);
        const after = (await endpoints.get(tenantId, id)) as WebhookEndpoint;
        await audit.inTransaction(trx, actor.audit, [
          entry(actor, 'webhook.updated', after, { changed: Object.keys(changes).sort() }),
        ]);
        return after;
      });
      deps.wake();
      return updated;
    },

    async remove(actor: Actor, id: string): Promise<void> {
      const tenantId = actor.principal.tenantId;
      await db.transaction(async (trx: AnyKysely) => {
        const endpoints = storeOn(trx);
        const found = await endpoints.get(tenantId, id);
        if (!found || !(await endpoints.delete(tenantId, id))) throw notFound();
        await audit.inTransaction(trx, actor.audit, [entry(actor, 'webhook.deleted', found)]);
      });
    },

    /** A new secret, returned once; the old one signs beside it for `secret_grace_seconds`. */
    async rotateSecret(
      actor: Actor,
      id: string,
    ): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
      const tenantId = actor.principal.tenantId;
      const secret = newSigningSecret();
      const endpoint = await db.transaction(async (trx: AnyKysely) => {
        const endpoints = storeOn(trx);
        const found = await endpoints.getSealed(tenantId, id);
        if (!found) throw notFound();
        const until = now() + settings.secret_grace_seconds * 1000;
        await endpoints.rotate(tenantId, id, sealer.seal(id, secret), found.secret_box, until);
        const after = (await endpoints.get(tenantId, id)) as WebhookEndpoint;
        await audit.inTransaction(trx, actor.audit, [
          entry(actor, 'webhook.secret_rotated', after, {
            // Not `*secret*`: the trail drops keys that look like secrets.
            grace_until: new Date(until).toISOString(),
          }),
        ]);
        return after;
      });
      deps.wake();
      return { endpoint, secret };
    },

    /**
     * Delivers again everything from `fromPosition` on (receivers de-duplicate by
     * `webhook-id`, which stays the same). Only backwards: moving the cursor forward
     * would skip events nobody received.
     */
    async replay(actor: Actor, id: string, fromPosition: number): Promise<WebhookEndpoint> {
      const tenantId = actor.principal.tenantId;
      const replayed = await db.transaction(async (trx: AnyKysely) => {
        const endpoints = storeOn(trx);
        const found = await endpoints.get(tenantId, id);
        if (!found) throw notFound();
        if (fromPosition - 1 > found.cursor_position) {
          throw new TesseraError(
            WebhookErrors.webhook_replay_ahead,
            `Delivery has reached position ${found.cursor_position}; a replay from ${fromPosition} would skip what lies between.`,
            { extensions: { cursor_position: found.cursor_position } },
          );
        }
        await endpoints.rewind(tenantId, id, fromPosition - 1);
        const after = (await endpoints.get(tenantId, id)) as WebhookEndpoint;
        await audit.inTransaction(trx, actor.audit, [
          entry(actor, 'webhook.replayed', after, {
            from_position: fromPosition,
            previous_cursor: found.cursor_position,
          }),
        ]);
        return after;
      });
      deps.wake();
      return replayed;
    },

    async deliveries(
      actor: Actor,
      id: string,
      page: { before?: string | undefined; limit: number },
    ) {
      await this.get(actor, id);
      return createAttemptStore(db.kysely).list(actor.principal.tenantId, id, page);
    },

    /**
     * Sends one logged message again now, outside the endpoint's order (the scheduled
     * delivery goes on as it was): the same `webhook-id`, so a receiver that had it
     * already knows. The event is read afresh from the log.
     */
    async retry(actor: Actor, id: string, attemptId: string): Promise<WebhookAttempt> {
      const tenantId = actor.principal.tenantId;
      const sealed = await sealedOf(actor, id);
      const logged = await createAttemptStore(db.kysely).get(tenantId, id, attemptId);
      if (!logged) throw deliveryNotFound();
      const message =
        logged.source === null || logged.event_id === null
          ? pingOf(id, newId(), now())
          : await (async () => {
              const partition = logged.source === 'events' ? tenantId : auditPartition(tenantId);
              const event = await deps.events.getEvent(partition, logged.event_id as string);
              if (!event) throw deliveryNotFound();
              return messageOf(id, event, logged.source as 'events' | 'platform');
            })();
      const outcome = await deps.send.send(sealed, message, 'retry', logged.attempt + 1);
      return recordAttempt(outcome.attempt);
    },

    /** A test ping (`tessera.webhook.test`), sent now whether the endpoint is enabled or not. */
    async ping(actor: Actor, id: string): Promise<WebhookAttempt> {
      const sealed = await sealedOf(actor, id);
      const outcome = await deps.send.send(sealed, pingOf(id, newId(), now()), 'ping', 1);
      return recordAttempt(outcome.attempt);
    },
  };
}

export type EndpointService = ReturnType<typeof createEndpointService>;
