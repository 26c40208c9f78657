import type { WebSocket } from 'ws';
import type { StoredEvent } from '../model.ts';
import { eventJson } from './event-json.ts';
import { END_CODES, type EndReason, endGraceMs, type SubscriberSink } from './subscriber-sink.ts';

/** Bytes buffered in the socket above which the transport counts as backpressured. */
const HIGH_WATER_BYTES = 64 * 1024;

/** WebSocket close codes (RFC 6455 §7.4): 4000-4999 are the application's own. */
const CLOSE_CODES = { too_slow: 4008, shutdown: 1001, failed: 1011 } as const;

/**
 * A WebSocket subscriber. Messages are JSON text frames: `{"type":"event","event":
 * {...StoredEvent}}` and, while idle, `{"type":"heartbeat"}` (a message rather than a
 * ping frame, which browser scripts cannot see). A server-side end is a close frame
 * whose reason is the JSON `{code, last_position}`.
 */
export function createWsSink(socket: WebSocket): SubscriberSink {
  let drained: (() => void) | undefined;

  // ws has no 'drain' event; each send's callback runs once its bytes reached the socket.
  const afterSend = () => {
    if (drained && socket.bufferedAmount < HIGH_WATER_BYTES) {
      const listener = drained;
      drained = undefined;
      listener();
    }
  };

  return {
    send(event: StoredEvent) {
      socket.send(`{"type":"event","event":${eventJson(event)}}`, afterSend);
      return socket.bufferedAmount < HIGH_WATER_BYTES;
    },
    heartbeat() {
      socket.send('{"type":"heartbeat"}', afterSend);
    },
    onDrain(listener) {
      drained = listener;
    },
    end(reason: EndReason) {
      if (reason.kind === 'client_gone') {
        socket.terminate();
        return;
      }
      const data = JSON.stringify({
        code: END_CODES[reason.kind],
        last_position: reason.lastPosition,
      });
      socket.close(CLOSE_CODES[reason.kind], data);
      // ws waits 30 s for the client's close frame; at shutdown we wait less.
      const cut = setTimeout(() => socket.terminate(), endGraceMs(reason));
      cut.unref();
      socket.once('close', () => clearTimeout(cut));
    },
  };
}
