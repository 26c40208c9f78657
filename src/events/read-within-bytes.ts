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

/** Reads one page of events within `maxBytes` (see readItemsWithinBytes). */
export async function readWithinBytes(
  readChunk: (after: StoredEvent | undefined, count: number) => Promise<StoredEvent[]>,
  limit: number,
  maxBytes: number,
  maxEventBytes: number,
): Promise<BoundedPage> {
  const { items, full } = await readItemsWithinBytes(
    readChunk,
    limit,
    maxBytes,
    maxEventBytes,
    eventBytes,
  );
  return { events: items, full };
}

/**
 * Reads up to `limit` items whose JSON adds up to at most `maxBytes`, but always at
 * least one (an item larger than the budget is still readable, alone on its page).
 * Reads in chunks so a page of large items never loads `limit` of them: the first
 * chunk is what the budget holds at `typicalMaxBytes` per item, later ones are sized
 * by the average seen so far. `readChunk(after, count)` continues after the last item
 * read (undefined for the first chunk) and returns fewer than `count` at the end.
 */
export async function readItemsWithinBytes<T>(
  readChunk: (after: T | undefined, count: number) => Promise<T[]>,
  limit: number,
  maxBytes: number,
  typicalMaxBytes: number,
  sizeOf: (item: T) => number,
): Promise<{ readonly items: T[]; readonly full: boolean }> {
  const items: T[] = [];
  let bytes = 0;
  let count = Math.min(limit, Math.max(1, Math.floor(maxBytes / typicalMaxBytes)));
  for (;;) {
    const chunk = await readChunk(items.at(-1), count);
    for (const item of chunk) {
      const size = sizeOf(item);
      if (items.length > 0 && bytes + size > maxBytes) return { items, full: true };
      items.push(item);
      bytes += size;
    }
    if (items.length >= limit) return { items, full: true };
    if (chunk.length < count) return { items, full: false };
    if (bytes >= maxBytes) return { items, full: true };
    const average = bytes / items.length;
    const room = Math.max(1, Math.ceil((maxBytes - bytes) / average));
    count = Math.min(limit - items.length, room);
  }
}
