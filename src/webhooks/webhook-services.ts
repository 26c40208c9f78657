import type { Registry } from 'prom-client';
import { type AuditContext, STARTUP_AUDIT_CONTEXT } from '../access/audit-context.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Config } from '../config/schema.ts';
import type { Mailer } from '../email/mailer.ts';
import type { LogNotifier } from '../events/log-notifier.ts';
import type { EventStore } from '../events/store.ts';
import type { LockTenant } from '../identity/tenancy-port.ts';
import type { AnyKysely } from '../storage/database.ts';
import type { Database } from '../storage/open-database.ts';
import { createCourier } from './delivery/courier.ts';
import { type DeliveryThread, startDeliveryThread } from './delivery/delivery-thread.ts';
import type { WebhookDispatcher } from './delivery/dispatcher.ts';
import { createMessageSender } from './delivery/send-message.ts';
import { webhookMetrics } from './delivery/webhook-metrics.ts';
import type { DisabledReason, WebhookEndpoint } from './endpoints/endpoint-record.ts';
import { createEndpointService, type EndpointService } from './endpoints/endpoint-service.ts';
import { createEndpointStore } from './endpoints/endpoint-store.ts';
import { endpointSecretSealer } from './signing/endpoint-sealer.ts';

/** The server acting on its own: disabling an endpoint its receiver gave up on. */
const DELIVERY_CONTEXT: AuditContext = { ...STARTUP_AUDIT_CONTEXT, actor: 'webhooks' };

/** Whom to tell, and how to reach them: the tenant's active admins (tenancy's and identity's). */
export type AdminContacts = (
  tenantId: string,
) => Promise<{ email: string; name: string | null; tenant_name: string }[]>;

export interface WebhookNeeds {
  readonly audit: AuditLog;
  readonly masterKey: () => Buffer;
  readonly mailer: Pick<Mailer, 'queueIn' | 'flush' | 'configured'>;
  readonly adminContacts: AdminContacts;
  readonly lockTenant: LockTenant;
  /** Tenancy's: the tenant exists and is not suspended. */
  readonly tenantActive: (tenantId: string) => Promise<boolean>;
  /** Tenancy's `max_webhooks` of a tenant (0: unlimited). */
  readonly quotaLimit: (tenantId: string) => Promise<number>;
  readonly now?: (() => number) | undefined;
}

export interface WebhookRuntime {
  readonly events: { readonly store: EventStore; readonly notifier: LogNotifier };
  readonly log: {
    warn(object: object, message: string): void;
    error(object: object, message: string): void;
  };
  readonly metrics: Registry;
}

export interface OpenedWebhooks {
  readonly endpoints: EndpointService;
  readonly dispatcher: WebhookDispatcher;
  /** Stops delivering: the delivery thread finishes its posts and gives its endpoints back. */
  stop(): Promise<void>;
}

const REASONS: Readonly<Record<DisabledReason, string>> = {
  manual: 'An administrator disabled it.',
  gone: 'The receiver answered 410 Gone, which asks never to be called again.',
  failing: 'Every attempt to deliver one event failed, for the whole retry schedule.',
};

/**
 * The webhooks domain (issue 21). Built in two steps: what needs only the database
 * here, by the composition root; the rest once the app has opened the event store
 * (`open`), which starts this node's dispatcher.
 */
export function composeWebhooks(db: Database, config: Config, needs: WebhookNeeds) {
  const settings = config.webhooks;
  const now = needs.now ?? Date.now;
  const sealer = endpointSecretSealer(needs.masterKey);

  /** Disabled, audited, and each active admin of the tenant emailed, in one transaction. */
  async function disable(owner: string, endpoint: WebhookEndpoint, reason: DisabledReason) {
    const contacts = await needs.adminContacts(endpoint.tenant_id);
    const at = new Date(now()).toISOString();
    const done = await db.transaction(async (trx: AnyKysely) => {
      if (!(await createEndpointStore(trx, now).disable(owner, endpoint.id, reason))) return false;
      for (const contact of contacts) {
        await needs.mailer.queueIn(trx, {
          kind: 'webhook_disabled',
          to: contact.email,
          tenantId: endpoint.tenant_id,
          values: {
            name: contact.name ?? '',
            tenant_name: contact.tenant_name,
            endpoint_url: endpoint.url,
            endpoint_id: endpoint.id,
            reason: REASONS[reason],
            disabled_at: at,
          },
        });
      }
      await needs.audit.inTransaction(trx, DELIVERY_CONTEXT, [
        {
          tenant_id: endpoint.tenant_id,
          action: 'webhook.disabled',
          target: `webhook:${endpoint.id}`,
          outcome: 'success',
          details: {
            url: endpoint.url,
            reason,
            admins_notified: needs.mailer.configured ? contacts.length : 0,
          },
        },
      ]);
      return true;
    });
    if (done) needs.mailer.flush();
    return done;
  }

  return {
    /** How many endpoints the tenant has (tenancy's quota usage). */
    count: (tenantId: string) => createEndpointStore(db.kysely).count(tenantId),

    open(runtime: WebhookRuntime): OpenedWebhooks {
      if (settings.lease_ms <= settings.timeout_ms) {
        // A delivery may outlast its lease: another node would take the endpoint over
        // and deliver beside this one, out of order.
        runtime.log.warn(
          { lease_ms: settings.lease_ms, timeout_ms: settings.timeout_ms },
          'webhooks.lease_ms should be longer than webhooks.timeout_ms',
        );
      }
      const { store, notifier } = runtime.events;
      let dispatcher: DeliveryThread | undefined;
      const metrics = webhookMetrics(runtime.metrics, () =>
        dispatcher
          ? {
              head: () => store.headPosition(),
              held: dispatcher.heldEndpoints,
              heapUsed: dispatcher.heapUsed,
              now,
            }
          : undefined,
      );
      // Manual retries and pings go out from here, at once, each on a connection of its own.
      const sender = createMessageSender({
        sealer,
        courier: createCourier({
          timeoutMs: settings.timeout_ms,
          maxResponseBytes: settings.max_response_bytes,
          allowPrivateNetworks: settings.allow_private_networks,
        }),
      });
      const endpoints = createEndpointService({
        db,
        audit: needs.audit,
        events: store,
        sealer,
        send: {
          ...sender,
          async send(...args) {
            const outcome = await sender.send(...args);
            metrics.attempted(outcome);
            return outcome;
          },
        },
        quotaLimit: needs.quotaLimit,
        lockTenant: needs.lockTenant,
        settings,
        wake: () => dispatcher?.wake(),
        now,
      });
      const started = startDeliveryThread({
        config,
        masterKey: needs.masterKey,
        notifier,
        anyEnabled: () => createEndpointStore(db.kysely).anyEnabled(),
        disable,
        tenantActive: needs.tenantActive,
        counted: metrics.counted,
        log: runtime.log,
      });
      dispatcher = started;
      return { endpoints, dispatcher: started, stop: () => started.stop() };
    },
  };
}

export type WebhookServices = ReturnType<typeof composeWebhooks>;
