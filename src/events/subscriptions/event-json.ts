import type { StoredEvent } from '../model.ts';

const cache = new WeakMap<StoredEvent, string>();

/**
 * The event as JSON, serialized once however many subscribers receive it: the
 * tailer hands the same object to every live subscriber of the tenant.
 */
export function eventJson(event: StoredEvent): string {
  let json = cache.get(event);
  if (json === undefined) {
    json = JSON.stringify(event);
    cache.set(event, json);
  }
  return json;
}

const sizes = new WeakMap<StoredEvent, number>();

/** Bytes of `eventJson(event)` as UTF-8: what holding it unsent costs. */
export function eventJsonBytes(event: StoredEvent): number {
  let bytes = sizes.get(event);
  if (bytes === undefined) {
    bytes = Buffer.byteLength(eventJson(event));
    sizes.set(event, bytes);
  }
  return bytes;
}
