import type { FastifyInstance } from 'fastify';

/**
 * A request carrying `Upgrade: websocket` reaches Fastify through the server's
 * 'upgrade' event (@fastify/websocket listens for it), on a socket Node's HTTP server
 * has handed over: no keep-alive, no header or idle timeouts, nobody to close it.
 * @fastify/websocket closes it after answering only when its own hooks ran, and they
 * run after the app's: a request refused earlier (invalid characters, credentials,
 * IP filters) or sent to a plain HTTP route (any route, /health included) was answered
 * and its socket left open, so each such request held a file descriptor for as long
 * as the client liked (issue 15 item 9). Once answered, close it: an upgrade request
 * answered with anything but 101 leaves nothing to speak on that connection.
 */
export function closeAnsweredUpgrades(app: FastifyInstance): void {
  app.addHook('onResponse', async (request) => {
    // Node's HTTP server sets `upgrade` (untyped) on exactly the requests it passed
    // to the 'upgrade' event rather than handling them itself.
    if ((request.raw as { upgrade?: boolean }).upgrade === true) request.raw.socket.destroy();
  });
}
