/**
 * A LIKE pattern matching any text that contains `text`: `%`, `_` and the escape
 * character itself match only themselves. Use it with `escape '\'`.
 */
export function likeContaining(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
