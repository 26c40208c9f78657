/**
 * Deeper than this, a stored JSON value is served as its JSON text rather than as
 * JSON: JSON.stringify (and every serializer built on it) recurses, and a value a few
 * thousand levels deep overflows the stack wherever the serializer happens to run
 * (issue 15: such events were stored, then every read of them failed). The door now
 * refuses bodies deeper than `server.max_json_depth` (at most 1000), so only events
 * stored before it can be this deep.
 */
export const MAX_SERVED_DEPTH = 1000;

/** True when arrays and objects nest more than `limit` levels. Iterative. */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const pending: [unknown, number][] = [[value, 0]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [item, depth] = next;
    if (typeof item !== 'object' || item === null) continue;
    if (depth + 1 > limit) return true;
    for (const child of Array.isArray(item) ? item : Object.values(item)) {
      if (typeof child === 'object' && child !== null) pending.push([child, depth + 1]);
    }
  }
  return false;
}

/** JSON.stringify without recursion: strings, numbers and keys still go through it. */
export function stringifyIteratively(value: unknown): string {
  const out: string[] = [];
  // Each entry is a value to write, or a literal piece of text (a comma, a bracket).
  const pending: ({ text: string } | { value: unknown })[] = [{ value }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if ('text' in next) {
      out.push(next.text);
      continue;
    }
    const item = next.value;
    if (typeof item !== 'object' || item === null) {
      out.push(JSON.stringify(item) ?? 'null');
      continue;
    }
    const parts: ({ text: string } | { value: unknown })[] = [];
    if (Array.isArray(item)) {
      parts.push({ text: '[' });
      item.forEach((child, index) => {
        if (index > 0) parts.push({ text: ',' });
        parts.push({ value: child });
      });
      parts.push({ text: ']' });
    } else {
      parts.push({ text: '{' });
      Object.entries(item).forEach(([key, child], index) => {
        parts.push({ text: `${index > 0 ? ',' : ''}${JSON.stringify(key)}:` }, { value: child });
      });
      parts.push({ text: '}' });
    }
    for (let index = parts.length - 1; index >= 0; index--) {
      const part = parts[index];
      if (part) pending.push(part);
    }
  }
  return out.join('');
}

/**
 * A stored JSON value as it can be served: itself, or, when it nests deeper than
 * MAX_SERVED_DEPTH, its JSON text as a string (the stored text on SQLite).
 */
export function servableJson(value: unknown, storedText: unknown): unknown {
  // Nesting n levels takes at least 2n characters: short text needs no walk.
  if (typeof storedText === 'string' && storedText.length <= 2 * MAX_SERVED_DEPTH) return value;
  if (!nestsDeeperThan(value, MAX_SERVED_DEPTH)) return value;
  return typeof storedText === 'string' ? storedText : stringifyIteratively(value);
}
