import type { ServerResponse } from 'node:http';
import type { StoredEvent } from '../model.ts';
import { eventJson } from './event-json.ts';
import { END_CODES, type EndReason, endGraceMs, type SubscriberSink } from './subscriber-sink.ts';

/**
 * Server-Sent Events (WHATWG HTML §9.2) on a response whose headers are sent.
 * Frames: `id: <position>` (so a reconnecting EventSource resumes with
 * Last-Event-ID), a fixed `event: event` (a user's event type may be "error" or
 * "message" and must never be mistaken for a control frame), `data: <StoredEvent
 * JSON>`. Heartbeats are the comment line `: heartbeat`, which EventSource ignores.
 * A server-side end sends `event: error` with `{code, last_position}` first.
 */
export function createSseSink(response: ServerResponse): SubscriberSink {
  const socket = response.socket;
  return {
    send: (event: StoredEvent) =>
      response.write(`id: ${event.position}\nevent: event\ndata: ${eventJson(event)}\n\n`),
    heartbeat() {
      response.write(': heartbeat\n\n');
    },
    onDrain(listener) {
      response.once('drain', listener);
    },
    end(reason: EndReason) {
      if (reason.kind === 'client_gone') {
        response.destroy();
        return;
      }
      const data = JSON.stringify({
        code: END_CODES[reason.kind],
        last_position: reason.lastPosition,
      });
      response.end(`event: error\ndata: ${data}\n\n`);
      // The connection goes with the stream: a kept-alive idle socket would only hold
      // up server.close(), and a client that stopped reading must not hold it forever.
      const cut = setTimeout(() => socket?.destroy(), endGraceMs(reason));
      cut.unref();
      response.once('finish', () => socket?.end());
      socket?.once('close', () => clearTimeout(cut));
    },
  };
}
