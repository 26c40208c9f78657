import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** What a sink keeps of one request: small, so 10,000 of them cost little memory. */
export interface HookArrival {
  /** `webhook-id`. */
  readonly id: string;
  /** The event's log position (`data.position`), or null (a ping). */
  readonly position: number | null;
  readonly type: string;
  /** When the request's body had arrived (Date.now()). */
  readonly atMs: number;
  /** What the sink answered (or was about to, when the sender went away first). */
  readonly status: number;
}

export interface WebhookSinkOptions {
  /** Hold each answer this long (a slow receiver). */
  readonly delayMs?: number;
  /** What to answer (default 204). */
  readonly status?: (arrival: Omit<HookArrival, 'status'>) => number;
  /** Where to listen (default 127.0.0.1). */
  readonly host?: string;
}

export interface WebhookSink {
  readonly url: string;
  readonly port: number;
  /** Every request, in arrival order (answered or not, 2xx or not). */
  readonly arrivals: HookArrival[];
  /** Check every request from now on with this endpoint secret (standardwebhooks). */
  verifyWith(secret: string): void;
  /** Requests whose signature did not verify, with why. */
  readonly badSignatures: string[];
  /** Requests answered 2xx, de-duplicated by webhook-id, in first-arrival order. */
  firstArrivals(): HookArrival[];
  /** How many requests carried each webhook-id. */
  countsById(): Map<string, number>;
  close(): Promise<void>;
}

/**
 * A lean webhook receiver on 127.0.0.1 for the volume, crash and multi-node tests:
 * unlike `startWebhookReceiver` it keeps no headers or bodies (only id, position, type
 * and time), and it can hold each answer a while. Signatures are checked on arrival by
 * the `standardwebhooks` package once the test hands it the secret.
 */
export async function startWebhookSink(options: WebhookSinkOptions = {}): Promise<WebhookSink> {
  const arrivals: HookArrival[] = [];
  const badSignatures: string[] = [];
  let verifier: Webhook | undefined;
  const decide = options.status ?? (() => 204);
  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const id = String(request.headers['webhook-id']);
      let type = '';
      let position: number | null = null;
      try {
        const json = JSON.parse(body) as { type?: string; data?: { position?: number } };
        type = String(json.type);
        position = typeof json.data?.position === 'number' ? json.data.position : null;
      } catch {
        type = '(not JSON)';
      }
      if (verifier) {
        try {
          verifier.verify(body, {
            'webhook-id': id,
            'webhook-timestamp': String(request.headers['webhook-timestamp']),
            'webhook-signature': String(request.headers['webhook-signature']),
          });
        } catch (error) {
          badSignatures.push(`${id}: ${String(error)}`);
        }
      }
      const seen = { id, position, type, atMs: Date.now() };
      const status = decide(seen);
      arrivals.push({ ...seen, status });
      const answer = () => {
        if (!response.destroyed) response.writeHead(status).end();
      };
      if (options.delayMs) setTimeout(answer, options.delayMs);
      else answer();
    });
  };
  const server = createServer(handle);
  server.keepAliveTimeout = 100;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}/hooks`,
    port,
    arrivals,
    badSignatures,
    verifyWith(secret) {
      verifier = new Webhook(secret);
    },
    firstArrivals() {
      const seen = new Set<string>();
      return arrivals.filter((arrival) => {
        if (arrival.status < 200 || arrival.status >= 300 || seen.has(arrival.id)) return false;
        seen.add(arrival.id);
        return true;
      });
    },
    countsById() {
      const counts = new Map<string, number>();
      for (const { id } of arrivals) counts.set(id, (counts.get(id) ?? 0) + 1);
      return counts;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
