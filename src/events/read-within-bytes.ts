import type { StoredEvent } from './model.ts';

/** Bytes an event takes in a response: its JSON, as UTF-8. */
export function eventBytes(event: StoredEvent): number {
  return Buffer.byteLength(JSON.stringify(event));
}

export interface BoundedPage {
  readonly events: StoredEvent[];
  /** The page stopped at `limit` or at the byte budget: there may be more after its last event. */
  readonly full: boolean;
}

/**
 * Reads up to `limit` events whose JSON adds up to at most `maxBytes`, but always at
 * least one (an event larger than the budget is still readable, alone on its page).
 * Reads in chunks so a page of large events never loads `limit` of them: the first
 * chunk is what the budget holds at the largest event size, later ones are sized by
 * the average seen so far. `readChunk(after, count)` continues after the last event
 * read (undefined for the first chunk) and returns fewer than `count` at the end.
 */
export async function readWithinBytes(
  readChunk: (after: StoredEvent | undefined, count: number) => Promise<StoredEvent[]>,
  limit: number,
  maxBytes: number,
  maxEventBytes: number,
): Promise<BoundedPage> {
  const events: StoredEvent[] = [];
  let bytes = 0;
  let count = Math.min(limit, Math.max(1, Math.floor(maxBytes / maxEventBytes)));
  for (;;) {
    const chunk = await readChunk(events.at(-1), count);
    for (const event of chunk) {
      const size = eventBytes(event);
      if (events.length > 0 && bytes + size > maxBytes) return { events, full: true };
      events.push(event);
      bytes += size;
    }
    if (events.length >= limit) return { events, full: true };
    if (chunk.length < count) return { events, full: false };
    if (bytes >= maxBytes) return { events, full: true };
    const average = bytes / events.length;
    const room = Math.max(1, Math.ceil((maxBytes - bytes) / average));
    count = Math.min(limit - events.length, room);
  }
}
