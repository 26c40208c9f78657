import { Type } from 'typebox';

/**
 * The cursor of the next page (ARCHITECTURE: lists take `limit` and `after` and answer
 * `next_cursor`): the last item's cursor when the page is full, else null, the end.
 */
export function nextCursor<T, C>(
  items: readonly T[],
  limit: number,
  cursorOf: (last: T) => C,
): C | null {
  const last = items.at(-1);
  return last !== undefined && items.length === limit ? cursorOf(last) : null;
}

/** `after` (an opaque string cursor) and `limit` for lists keyed by ids. */
export const IdPageQuery = {
  after: Type.Optional(
    Type.String({ maxLength: 64, description: 'The `next_cursor` of the previous page.' }),
  ),
  limit: Type.Integer({
    minimum: 1,
    maximum: 1000,
    default: 100,
    description: '1-1000, default 100.',
  }),
};
