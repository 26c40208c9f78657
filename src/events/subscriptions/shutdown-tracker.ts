import type { FastifyInstance } from 'fastify';
import type { Subscription } from './subscription.ts';

/**
 * Closes a plugin's open subscriptions when the app starts closing. It must be a
 * preClose hook: Fastify then waits in server.close() for every connection, and a
 * streaming response only ends when we end it. A subscription that opens after
 * that (its request was already past the draining check) is closed at once.
 */
export function trackForShutdown(app: FastifyInstance): (subscription: Subscription) => () => void {
  const open = new Set<Subscription>();
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    for (const subscription of open) subscription.close('shutdown');
    open.clear();
    done();
  });
  return (subscription) => {
    if (closing) subscription.close('shutdown');
    else open.add(subscription);
    return () => open.delete(subscription);
  };
}
