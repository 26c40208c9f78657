/**
 * Polls `condition` until it holds: for state no client can observe at once, such as
 * a change another node hears of through the database. Fails after `tries`.
 */
export async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  tries = 500,
): Promise<void> {
  for (let attempt = 0; attempt < tries; attempt++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting until ${what}`);
}
