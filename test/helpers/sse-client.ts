import { get, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { StoredEvent } from '../../src/events/model.ts';

/** Test-only: one parsed Server-Sent Events frame (a comment line is a frame of its own here). */
export interface SseFrame {
  readonly id?: string;
  readonly event?: string;
  readonly data?: string;
  readonly comment?: string;
}

export interface SseClient {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The next frame, or undefined once the stream has ended. */
  next(): Promise<SseFrame | undefined>;
  /** The next `count` events, skipping heartbeats; fails on anything else. */
  events(count: number): Promise<StoredEvent[]>;
  close(): void;
}

/** Splits a text/event-stream into frames, fed in arbitrary chunks. */
export function createSseParser(): { push(text: string): SseFrame[] } {
  let buffer = '';
  return {
    push(text) {
      buffer += text;
      const frames: SseFrame[] = [];
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const frame: Record<string, string> = {};
        for (const line of buffer.slice(0, end).split('\n')) {
          if (line.startsWith(':')) frames.push({ comment: line.slice(1).trim() });
          else {
            const colon = line.indexOf(':');
            frame[line.slice(0, colon)] = line.slice(colon + 1).replace(/^ /, '');
          }
        }
        if (Object.keys(frame).length > 0) frames.push(frame);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf('\n\n');
      }
      return frames;
    },
  };
}

/**
 * A streamed GET of an SSE URL, parsed just enough for the tests. Node's http client
 * on a connection of its own, not `fetch`: undici replaces an aborted connection
 * with a fresh one that never sends a request, and server.close() waits for such a
 * connection until headersTimeout, which would make every test's close slow.
 */
export async function openSse(
  url: string,
  headers: Record<string, string> = {},
): Promise<SseClient> {
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    get(url, { headers, agent: false }, resolve).on('error', reject);
  });
  response.setEncoding('utf8');
  const chunks = response[Symbol.asyncIterator]();
  const parser = createSseParser();
  const frames: SseFrame[] = [];

  async function next(): Promise<SseFrame | undefined> {
    while (frames.length === 0) {
      const { value, done } = await chunks.next();
      if (done) return undefined;
      frames.push(...parser.push(String(value)));
    }
    return frames.shift();
  }

  return {
    status: response.statusCode ?? 0,
    headers: response.headers,
    next,
    async events(count) {
      const events: StoredEvent[] = [];
      while (events.length < count) {
        const frame = await next();
        if (frame === undefined) throw new Error(`stream ended after ${events.length} events`);
        if (frame.comment === 'heartbeat') continue;
        if (frame.event !== 'event') throw new Error(`unexpected frame ${JSON.stringify(frame)}`);
        const event = JSON.parse(frame.data ?? '') as StoredEvent;
        if (frame.id !== String(event.position)) throw new Error(`id ${frame.id} ≠ position`);
        events.push(event);
      }
      return events;
    },
    close: () => response.destroy(),
  };
}
