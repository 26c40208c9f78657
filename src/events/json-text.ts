import { isUnstorableText } from '../platform/unstorable-text.ts';

/**
 * Where a JSON value holds text PostgreSQL's jsonb cannot store: the NUL character
 * or a lone UTF-16 surrogate (RFC 8259 §8.2 calls such strings unpredictable).
 * Rejected on both engines so a request means the same thing everywhere; the test is
 * the HTTP door's own (json-inspection.ts), so both agree on what is storable.
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

/**
 * Iterative, depth first in document order (the first offence is the one a reader
 * meets first): the HTTP door bounds depth, but a caller without it (a script, an
 * import) must not overflow the stack here.
 */
function walk(root: unknown, at: string): string | undefined {
  // A key that is itself unstorable is pushed as its own step, so that it is found
  // where it stands, after the members before it.
  const pending: [value: unknown, path: string, badKey: boolean][] = [[root, at, false]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [value, path, badKey] = next;
    if (badKey) return path;
    if (typeof value === 'string') {
      if (isUnstorableText(value)) return path || '/';
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    const children: [unknown, string, boolean][] = [];
    if (Array.isArray(value)) {
      for (const [index, item] of value.entries()) children.push([item, `${path}/${index}`, false]);
    } else {
      for (const [key, item] of Object.entries(value)) {
        const member = `${path}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
        children.push([item, member, isUnstorableText(key)]);
      }
    }
    for (let index = children.length - 1; index >= 0; index--) {
      pending.push(children[index] as [unknown, string, boolean]);
    }
  }
  return undefined;
}
