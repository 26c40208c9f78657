import type { Server, ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { Config } from '../config/schema.ts';
import {
  type Address,
  cidrContains,
  isIpv4,
  maskOf,
  parseCidr,
  parseClientAddress,
} from '../platform/cidr.ts';

type ServerSettings = Pick<
  Config['server'],
  | 'header_timeout_ms'
  | 'request_timeout_ms'
  | 'idle_timeout_ms'
  | 'max_connections'
  | 'max_connections_per_ip'
  | 'trusted_proxies'
>;

/**
 * Node's own timeouts, as Fastify options. Node's defaults let a connection that
 * never sends a byte live 60-90 s (headersTimeout 60 s, checked every 30 s), so a few
 * thousand of them exhausted file descriptors (issue 15). `requestTimeout` bounds
 * receiving a request only: a response that streams for hours (SSE) is not cut, and
 * an upgraded WebSocket leaves the HTTP server's bookkeeping altogether.
 */
export function timeoutSettings(server: ServerSettings) {
  const http: ServerOptions = {
    headersTimeout: Math.min(server.header_timeout_ms, server.request_timeout_ms),
    // How often Node looks for connections past these timeouts: often enough that a
    // timeout is kept to within a fraction of itself.
    connectionsCheckingInterval: Math.max(50, Math.min(1000, server.header_timeout_ms / 4)),
  };
  return {
    http,
    requestTimeout: server.request_timeout_ms,
    keepAliveTimeout: server.idle_timeout_ms,
  };
}

/**
 * Caps open connections overall (`server.maxConnections`: Node closes the excess on
 * accept) and per client (sockets counted by peer address, the excess destroyed
 * before a byte is read). A client is an IPv4 address or an IPv6 /64, the block
 * one host usually owns. Trusted proxies carry many clients: they count only against
 * the overall cap. Since one client holds at most `max_connections_per_ip`, it cannot
 * take the connections a health probe needs.
 */
export function limitConnections(server: Server, settings: ServerSettings): void {
  server.maxConnections = settings.max_connections;
  const proxies = settings.trusted_proxies.flatMap((text) => {
    const parsed = parseCidr(text);
    return 'cidr' in parsed ? [parsed.cidr] : [];
  });
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = parseClientAddress(socket.remoteAddress ?? '');
    if (address === undefined || proxies.some((cidr) => cidrContains(cidr, address))) return;
    const client = clientKey(address);
    const count = (open.get(client) ?? 0) + 1;
    if (count > settings.max_connections_per_ip) {
      socket.destroy();
      return;
    }
    open.set(client, count);
    socket.once('close', () => {
      const left = (open.get(client) ?? 1) - 1;
      if (left > 0) open.set(client, left);
      else open.delete(client);
    });
  });
}

function clientKey(address: Address): string {
  const block = isIpv4(address) ? address : address & maskOf(64);
  return block.toString(16);
}
