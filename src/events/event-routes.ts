import type { FastifyPluginAsync } from 'fastify';
import type { Events } from './open-events.ts';
import { appendRoutes } from './routes/append.ts';
import { queryRoutes } from './routes/query.ts';
import { readRoutes } from './routes/read.ts';
import { stateRoutes } from './routes/state.ts';
import { statsRoutes } from './routes/stats.ts';
import { streamRoutes } from './routes/stream.ts';
import { subscribeRoutes } from './routes/subscribe.ts';
import type { SubscriptionLimits } from './subscriptions/subscription-limits.ts';

export interface EventRoutesOptions {
  readonly events: Events;
  /** Caps on open subscriptions per tenant and credential. */
  readonly subscriptionLimits: SubscriptionLimits;
  /** `server.cors_origins`: the browser origins that may subscribe with a ticket. */
  readonly corsOrigins: readonly string[];
}

/** Every event store route, one plugin per resource under src/events/routes/. */
export const eventRoutes: FastifyPluginAsync<EventRoutesOptions> = async (app, options) => {
  // Every read of the tenant's events counts toward its queries-per-hour quota: a
  // query, an entity's events or state, an event, a listing, stats, and opening a
  // subscription (once, not per event delivered). After validation, so a malformed
  // request costs nothing; before the handler, so a refused one reads nothing.
  app.addHook('preHandler', async (request) => {
    if (request.routeOptions.config.access !== 'events:read') return;
    await options.events.service.countQuery(request.tenantId);
  });
  for (const routes of [
    appendRoutes,
    readRoutes,
    queryRoutes,
    stateRoutes,
    statsRoutes,
    subscribeRoutes,
    streamRoutes,
  ]) {
    await app.register(routes, options);
  }
};
