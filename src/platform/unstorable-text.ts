/**
 * Text no store can keep: the NUL character (PostgreSQL's text and jsonb refuse it)
 * and UTF-16 surrogates without their pair (not Unicode scalar values, so not
 * encodable as UTF-8; RFC 8259 §8.2 calls such strings unpredictable). Refused on
 * both engines, so that a request means the same thing everywhere.
 */
export const UNSTORABLE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is what it looks for
  /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function isUnstorableText(text: string): boolean {
  return UNSTORABLE.test(text);
}
