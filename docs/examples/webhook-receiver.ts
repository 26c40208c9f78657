/**
 * A receiver for Tessera's webhooks in plain Node (node:http) with the
 * `standardwebhooks` package (npm install standardwebhooks). docs/webhooks.md shows it.
 *
 *   const server = createServer(webhookReceiver({
 *     secret: process.env.TESSERA_WEBHOOK_SECRET, // the whsec_... of the endpoint
 *     accept: async (id, message) => queue.insertIfAbsent(id, message),
 *   }));
 *   server.listen(8080);
 *
 * What it does, in order: reads the raw body (never re-serialized: the signature is
 * over the bytes sent), verifies the signature and the timestamp, hands the message to
 * `accept` keyed by its webhook-id, and answers 204 at once. The work the message
 * causes belongs after the answer (a queue, a job table), not before it.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';

/** The JSON envelope of every delivery. */
export interface TesseraWebhook {
  /** An event's type (`order.placed`), `tessera.<audit action>`, or `tessera.webhook.test`. */
  readonly type: string;
  /** When the event was committed (RFC 3339, UTC); for the test ping, when it was sent. */
  readonly timestamp: string;
  readonly data: Record<string, unknown>;
}

export interface ReceiverOptions {
  /** The endpoint's signing secret, `whsec_...`, as Tessera showed it once. */
  readonly secret: string;
  /**
   * Stores the message for processing, once per webhook-id: Tessera delivers at least
   * once, so the same id may come again (a retry whose answer was lost, a replay, a
   * crash). Return `false` for an id already stored. Make it durable and idempotent in
   * production (an INSERT keyed by the id that ignores a duplicate), and quick: Tessera
   * waits at most `webhooks.timeout_ms` (10 s) for the answer.
   */
  readonly accept: (id: string, message: TesseraWebhook) => Promise<boolean>;
  /** Larger bodies are refused unread (413). Default 1 MiB. */
  readonly maxBodyBytes?: number;
}

/** A request listener for `http.createServer` (or a route of any framework that hands you the raw request). */
export function webhookReceiver(options: ReceiverOptions): RequestListener {
  const webhook = new Webhook(options.secret);
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;

  return (request, response) => {
    receive(request, response).catch((error: unknown) => {
      // `accept` failed (its store is down): 5xx, and Tessera tries again later.
      console.error('webhook receiver:', error);
      if (!response.headersSent) answer(response, 500);
    });
  };

  async function receive(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (request.method !== 'POST') return answer(response, 405);
    const body = await rawBody(request, maxBodyBytes);
    if (body === undefined) return answer(response, 413);
    let message: TesseraWebhook;
    try {
      // Checks webhook-signature (any of its space-separated `v1,...` entries may match:
      // during a secret rotation Tessera signs with the new and the old secret) and that
      // webhook-timestamp is within 5 minutes of this machine's clock. Node's header
      // names are lower-case already, as verify wants them.
      message = webhook.verify(body, {
        'webhook-id': header(request, 'webhook-id'),
        'webhook-timestamp': header(request, 'webhook-timestamp'),
        'webhook-signature': header(request, 'webhook-signature'),
      }) as TesseraWebhook;
    } catch (error) {
      if (error instanceof WebhookVerificationError) return answer(response, 401);
      throw error;
    }
    // Verified, so the id is Tessera's: the key to de-duplicate on.
    await options.accept(header(request, 'webhook-id'), message);
    // 2xx, duplicate or not: anything else is a failure Tessera retries. Never 410 unless
    // you want the endpoint disabled: Tessera takes 410 Gone as "stop sending".
    answer(response, 204);
  }
}

/** The body as received, or undefined when it is larger than `limit` bytes. */
async function rawBody(request: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > limit) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function header(request: IncomingMessage, name: string): string {
  const value = request.headers[name];
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}

function answer(response: ServerResponse, status: number): void {
  response.writeHead(status, { connection: 'close' }).end();
}
