/**
 * Event ids the store generates encode the event's position, so `GET /events/{id}`
 * is a primary-key lookup and the hot table needs no index on random UUIDs.
 * Layout (a UUIDv8, RFC 9562 §5.8): the fixed prefix `7e55e7a0-0000-8000-80`, then
 * the position as 14 hex digits (56 bits). Clients may not supply ids with this
 * prefix, so a decoded id is always one the store made.
 */
const PREFIX = '7e55e7a0-0000-8000-80';
const MAX_POSITION = 2 ** 53 - 1;

export function generatedEventId(position: number): string {
  const hex = position.toString(16).padStart(14, '0');
  return `${PREFIX}${hex.slice(0, 2)}-${hex.slice(2)}`;
}

/** The position a generated id encodes, or undefined for any other UUID. */
export function positionOfGeneratedId(id: string): number | undefined {
  if (!id.startsWith(PREFIX) || id.length !== 36) return undefined;
  const hex = id.slice(PREFIX.length, PREFIX.length + 2) + id.slice(PREFIX.length + 3);
  if (!/^[0-9a-f]{14}$/.test(hex)) return undefined;
  const position = Number.parseInt(hex, 16);
  return position >= 1 && position <= MAX_POSITION ? position : undefined;
}

export function isReservedEventId(id: string): boolean {
  return id.toLowerCase().startsWith(PREFIX);
}
