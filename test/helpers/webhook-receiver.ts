import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** One request a receiver got, as sent. */
export interface ReceivedHook {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read the envelope freely, asserting as they go
  readonly json: any;
}

export interface WebhookReceiver {
  readonly url: string;
  /** Every request received, in arrival order (answered 2xx or not). */
  readonly received: ReceivedHook[];
  /** What the next requests are answered: a status (default 204). */
  answer(status: number | ((hook: ReceivedHook) => number)): void;
  /** Checks a request's signature with the `standardwebhooks` package (throws when wrong). */
  verify(hook: ReceivedHook, secret: string): unknown;
  /** Requests answered 2xx, de-duplicated by webhook-id, in first-delivery order. */
  delivered(): ReceivedHook[];
  close(): Promise<void>;
}

/**
 * A real HTTP receiver on 127.0.0.1 for webhook tests: it records every request and
 * answers what the test says. Signatures are checked by the `standardwebhooks` npm
 * package, an implementation independent of the sender's use of it (it verifies
 * against the spec's header format and timestamp window).
 */
export async function startWebhookReceiver(path = '/hooks'): Promise<WebhookReceiver> {
  const received: ReceivedHook[] = [];
  const ok: ReceivedHook[] = [];
  let decide: (hook: ReceivedHook) => number = () => 204;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      const hook = { headers: request.headers, body, json };
      received.push(hook);
      const status = decide(hook);
      if (status >= 200 && status < 300) ok.push(hook);
      response.writeHead(status, { 'content-type': 'text/plain' }).end(`answered ${status}`);
    });
  });
  server.keepAliveTimeout = 100;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    received,
    answer(status) {
      decide = typeof status === 'number' ? () => status : status;
    },
    verify(hook, secret) {
      return new Webhook(secret).verify(hook.body, {
        'webhook-id': String(hook.headers['webhook-id']),
        'webhook-timestamp': String(hook.headers['webhook-timestamp']),
        'webhook-signature': String(hook.headers['webhook-signature']),
      });
    },
    delivered() {
      const seen = new Set<string>();
      return ok.filter((hook) => {
        const id = String(hook.headers['webhook-id']);
        if (seen.has(id)) return false;
        seen.add(id);
        return true;
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
