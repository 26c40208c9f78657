import type { PostgresDatabase } from '../storage/postgres/open-postgres.ts';
import { listenToPostgres, type PgListener } from '../storage/postgres/pg-listener.ts';
import type { CredentialCache, CredentialChange, CredentialKind } from './credential-cache.ts';

/** Where migration 0005's triggers announce credential changes. */
export const CREDENTIALS_CHANNEL = 'tessera_credentials';

const KINDS: ReadonlySet<string> = new Set<CredentialKind>([
  'tenant',
  'user',
  'session',
  'api_key',
]);

/**
 * Keeps `cache` in step with every node's credential changes. The cache is active
 * only while LISTEN is connected: after a loss it starts empty again, since the
 * changes made in between were heard by no one.
 */
export function watchCredentialChanges(
  db: PostgresDatabase,
  cache: CredentialCache,
  onError: (error: unknown) => void,
): Promise<PgListener> {
  return listenToPostgres(db, [CREDENTIALS_CHANNEL], {
    applicationName: 'tessera-credentials',
    onNotification(_channel, payload) {
      const change = parseChange(payload);
      // Something this version does not understand: forgetting everything is safe.
      if (change) cache.changed(change);
      else cache.setActive(true);
    },
    onConnected: () => cache.setActive(true),
    onDisconnected: () => cache.setActive(false),
    onError,
  });
}

export function parseChange(payload: string): CredentialChange | undefined {
  const colon = payload.indexOf(':');
  const kind = payload.slice(0, colon);
  const id = payload.slice(colon + 1);
  if (colon < 0 || !KINDS.has(kind) || id === '') return undefined;
  return { kind: kind as CredentialKind, id };
}
