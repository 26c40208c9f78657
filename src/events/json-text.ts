/**
 * Where a JSON value holds text PostgreSQL's jsonb cannot store: the NUL character
 * or a lone UTF-16 surrogate (RFC 8259 §8.2 calls such strings unpredictable).
 * Rejected on both engines so a request means the same thing everywhere.
 * Returns a JSON Pointer to the first offending string (or key), or undefined.
 */
export function findUnstorableText(
  value: unknown,
  serialized: string,
  at = '',
): string | undefined {
  // JSON.stringify escapes exactly these as \u0000 and \udxxx: without "\u" in the
  // serialized form there is nothing to look for, which is the common case.
  if (!serialized.includes('\\u')) return undefined;
  return walk(value, at);
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is what it looks for
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function walk(value: unknown, at: string): string | undefined {
  if (typeof value === 'string') return UNSTORABLE.test(value) ? at || '/' : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = walk(item, `${at}/${index}`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const [key, item] of Object.entries(value)) {
    const path = `${at}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
    if (UNSTORABLE.test(key)) return path;
    const found = walk(item, path);
    if (found !== undefined) return found;
  }
  return undefined;
}
