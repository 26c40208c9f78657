import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import type { StoredEvent } from '../../src/events/model.ts';

/** Test-only: a message of the stream route. */
export type StreamMessage =
  | { readonly type: 'event'; readonly event: StoredEvent }
  | { readonly type: 'heartbeat' };

export interface WsClient {
  readonly socket: WebSocket;
  /** The next message, or undefined once the socket has closed. */
  next(): Promise<StreamMessage | undefined>;
  /** The next `count` events, skipping heartbeats. */
  events(count: number): Promise<StoredEvent[]>;
  /** Resolves with the close code and reason. */
  readonly closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

/** Opens a WebSocket and queues its messages; rejects if the server refuses the upgrade. */
export async function openWs(url: string, headers: Record<string, string> = {}): Promise<WsClient> {
  const socket = new WebSocket(url, { headers });
  const messages: StreamMessage[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  socket.on('message', (data) => {
    messages.push(JSON.parse(String(data)) as StreamMessage);
    wake?.();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.once('close', (code, reason) => {
      ended = true;
      wake?.();
      resolve({ code, reason: reason.toString('utf8') });
    });
  });
  await once(socket, 'open');

  async function next(): Promise<StreamMessage | undefined> {
    while (messages.length === 0 && !ended) {
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
    return messages.shift();
  }

  return {
    socket,
    next,
    async events(count) {
      const events: StoredEvent[] = [];
      while (events.length < count) {
        const message = await next();
        if (message === undefined) throw new Error(`socket closed after ${events.length} events`);
        if (message.type === 'event') events.push(message.event);
      }
      return events;
    },
    closed,
    close: () => socket.close(),
  };
}

/** The refused upgrade's HTTP answer. */
export async function refusedUpgrade(
  url: string,
  headers: Record<string, string> = {},
): Promise<{
  status: number;
  contentType: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}> {
  const socket = new WebSocket(url, { headers });
  socket.on('error', () => {});
  const [, response] = (await once(socket, 'unexpected-response')) as [unknown, IncomingMessage];
  let text = '';
  for await (const chunk of response) text += String(chunk);
  socket.terminate();
  return {
    status: response.statusCode ?? 0,
    contentType: String(response.headers['content-type']),
    headers: response.headers,
    body: JSON.parse(text) as Record<string, unknown>,
  };
}
