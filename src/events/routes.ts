import type { FastifyPluginAsync } from 'fastify';
import type { Events } from './open-events.ts';
import { appendRoutes } from './routes/append.ts';
import { queryRoutes } from './routes/query.ts';
import { readRoutes } from './routes/read.ts';
import { stateRoutes } from './routes/state.ts';
import { statsRoutes } from './routes/stats.ts';
import { streamRoutes } from './routes/stream.ts';
import { subscribeRoutes } from './routes/subscribe.ts';

export interface EventRoutesOptions {
  readonly events: Events;
}

/** Every event store route, one plugin per resource under src/events/routes/. */
export const eventRoutes: FastifyPluginAsync<EventRoutesOptions> = async (app, options) => {
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
