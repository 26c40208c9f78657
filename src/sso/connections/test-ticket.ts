import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * The link an administrator's "test this connection" opens: it may start a sign-in
 * through a disabled connection, which shows who the IdP says you are and what Tessera
 * would grant, and signs nobody in. `<expiry ms>.<HMAC-SHA-256>` over the connection
 * id, under a key derived from the master key: every node checks it, nobody forges it.
 */
export function createTestTickets(masterKey: () => Buffer, now: () => number = Date.now) {
  let key: Buffer | undefined;
  const mac = (connectionId: string, expires: number) => {
    key ??= Buffer.from(
      hkdfSync('sha256', masterKey(), Buffer.alloc(0), 'tessera sso test ticket', 32),
    );
    return createHmac('sha256', key).update(`${connectionId}.${expires}`).digest('base64url');
  };
  return {
    issue(connectionId: string, ttlMs: number): string {
      const expires = now() + ttlMs;
      return `${expires}.${mac(connectionId, expires)}`;
    },
    valid(connectionId: string, ticket: string): boolean {
      const [expiresText = '', given = ''] = ticket.split('.');
      const expires = Number(expiresText);
      if (!Number.isSafeInteger(expires) || expires <= now()) return false;
      const expected = Buffer.from(mac(connectionId, expires));
      const actual = Buffer.from(given);
      return actual.length === expected.length && timingSafeEqual(actual, expected);
    },
  };
}

export type TestTickets = ReturnType<typeof createTestTickets>;
