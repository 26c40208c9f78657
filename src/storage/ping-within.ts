/**
 * Runs a trivial query and reports whether it succeeded within `timeoutMs`. Never
 * throws: health checks must answer even when the database does not.
 */
export async function pingWithin(
  query: () => Promise<unknown>,
  timeoutMs: number,
): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
    timer.unref();
  });
  const succeeded = (async () => {
    await query();
    return true;
  })().catch(() => false);
  try {
    return await Promise.race([succeeded, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
