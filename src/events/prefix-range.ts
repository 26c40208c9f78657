/**
 * The smallest string greater than every string starting with `prefix`, in code
 * point order (which is UTF-8 byte order, SQLite's BINARY and PostgreSQL's "C"
 * collation), so a prefix filter becomes the index range `>= prefix AND < bound`.
 * Undefined when no such bound exists (the prefix is all U+10FFFF).
 */
export function prefixUpperBound(prefix: string): string | undefined {
  const points = Array.from(prefix, (char) => char.codePointAt(0) as number);
  while (points.length > 0) {
    const last = (points.pop() as number) + 1;
    // Skip the surrogate range: not code points a valid string can hold.
    const next = last === 0xd800 ? 0xe000 : last;
    if (next <= 0x10ffff) return String.fromCodePoint(...points, next);
  }
  return undefined;
}
