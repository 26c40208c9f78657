import { createHash } from 'node:crypto';

/**
 * Discovered configurations by connection id, each for a while and only for the
 * settings it was discovered with: a connection edited without `forget()` is
 * discovered again rather than used with an old issuer or secret. Bounded: the
 * oldest entry goes first.
 */
export function createDiscoveryCache<T>(options: {
  readonly ttlMs: number;
  readonly maxEntries: number;
  readonly now: () => number;
}) {
  const entries = new Map<string, { fingerprint: string; expiresAt: number; value: Promise<T> }>();
  const fingerprintOf = (parts: readonly string[]) =>
    createHash('sha256').update(JSON.stringify(parts)).digest('base64url');

  function put(id: string, parts: readonly string[], value: Promise<T>): Promise<T> {
    entries.delete(id);
    while (entries.size >= options.maxEntries) {
      const oldest = entries.keys().next();
      if (oldest.done) break;
      entries.delete(oldest.value);
    }
    const entry = {
      fingerprint: fingerprintOf(parts),
      expiresAt: options.now() + options.ttlMs,
      value,
    };
    entries.set(id, entry);
    // A failed discovery is not remembered: the next sign-in tries again.
    value.catch(() => {
      if (entries.get(id) === entry) entries.delete(id);
    });
    return value;
  }

  return {
    /** The cached value while fresh and for the same parts, else `load()`'s. */
    get(id: string, parts: readonly string[], load: () => Promise<T>): Promise<T> {
      const found = entries.get(id);
      if (found && found.fingerprint === fingerprintOf(parts) && found.expiresAt > options.now()) {
        return found.value;
      }
      return put(id, parts, load());
    },
    /** `load()`'s value, kept in place of any cached one. */
    refresh(id: string, parts: readonly string[], load: () => Promise<T>): Promise<T> {
      return put(id, parts, load());
    },
    forget(id: string): void {
      entries.delete(id);
    },
    get size(): number {
      return entries.size;
    },
  };
}
