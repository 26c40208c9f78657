/**
 * How long `until` keeps polling at most: a safety net against a condition that never
 * holds, not a measure of speed. A loaded 2-core machine may need seconds for what an
 * idle one does in milliseconds; the wait ends as soon as the condition holds.
 */
export const UNTIL_DEADLINE_MS = 60_000;

/**
 * Polls `condition` until it holds: for state no client can observe at once, such as
 * a change another node hears of through the database. Fails after at least `tries`
 * polls and UNTIL_DEADLINE_MS, whichever is later.
 */
export async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  tries = 500,
): Promise<void> {
  const deadline = Date.now() + UNTIL_DEADLINE_MS;
  for (let attempt = 0; attempt < tries || Date.now() < deadline; attempt++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting until ${what}`);
}
