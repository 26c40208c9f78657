import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AnyKysely } from '../../storage/database.ts';
import type { SsoRequestRow, Tables } from '../../storage/tables.ts';
import type { ReturnTarget } from './return-target.ts';

type RequestTables = Pick<Tables, 'sso_requests'>;

/** Expired requests are deleted this many at a time, once in this many starts: bounded work. */
const SWEEP_EVERY = 50;
const SWEEP_BATCH = 500;

export interface SsoRequest {
  readonly id: string;
  readonly connection_id: string;
  readonly purpose: 'sign_in' | 'test';
  readonly browser_digest: string;
  readonly protocol_state: Readonly<Record<string, string>>;
  readonly target: ReturnTarget;
  /** The IdP's verified answer (JSON of the caller's choosing); null until it came. */
  readonly outcome: unknown;
  readonly expires_ms: number;
}

/** A request id: the OIDC `state` and SAML `RelayState` (192 random bits). */
export const newRequestId = (): string => randomBytes(24).toString('base64url');

function toRequest(row: SsoRequestRow): SsoRequest {
  const target: ReturnTarget =
    row.purpose === 'test'
      ? { kind: 'test' }
      : row.interaction_uid !== null
        ? { kind: 'interaction', uid: row.interaction_uid }
        : { kind: 'redirect', uri: row.redirect_uri ?? '' };
  return {
    id: row.id,
    connection_id: row.connection_id,
    purpose: row.purpose,
    browser_digest: row.browser_digest,
    protocol_state: JSON.parse(row.protocol_state),
    target,
    outcome: row.outcome === null ? null : JSON.parse(row.outcome),
    expires_ms: row.expires_ms,
  };
}

/**
 * `sso_requests`: sign-ins on their way through an identity provider. A request is
 * answered once (`answer` sets the outcome only while none is set) and taken once
 * (`take` deletes it, returning the row: of two browsers racing, one gets it).
 */
export function createSsoRequestStore(on: AnyKysely, now: () => number = Date.now) {
  const kysely: Kysely<RequestTables> = on;
  let starts = 0;

  async function sweep(): Promise<void> {
    const expired = await kysely
      .selectFrom('sso_requests')
      .select('id')
      .where('expires_ms', '<=', now())
      .limit(SWEEP_BATCH)
      .execute();
    if (expired.length === 0) return;
    await kysely
      .deleteFrom('sso_requests')
      .where(
        'id',
        'in',
        expired.map((row) => row.id),
      )
      .execute();
  }

  return {
    async start(request: {
      readonly id: string;
      readonly connection_id: string;
      readonly browser_digest: string;
      readonly protocol_state: Readonly<Record<string, string>>;
      readonly target: ReturnTarget;
      readonly ttl_ms: number;
    }): Promise<void> {
      starts += 1;
      if (starts % SWEEP_EVERY === 0) await sweep();
      const at = now();
      await kysely
        .insertInto('sso_requests')
        .values({
          id: request.id,
          connection_id: request.connection_id,
          purpose: request.target.kind === 'test' ? 'test' : 'sign_in',
          browser_digest: request.browser_digest,
          protocol_state: JSON.stringify(request.protocol_state),
          interaction_uid: request.target.kind === 'interaction' ? request.target.uid : null,
          redirect_uri: request.target.kind === 'redirect' ? request.target.uri : null,
          outcome: null,
          created_ms: at,
          expires_ms: at + request.ttl_ms,
        })
        .execute();
    },

    /** A live request of this connection not answered yet; undefined otherwise. */
    async pending(id: string, connectionId: string): Promise<SsoRequest | undefined> {
      const row = await kysely
        .selectFrom('sso_requests')
        .selectAll()
        .where('id', '=', id)
        .where('connection_id', '=', connectionId)
        .where('outcome', 'is', null)
        .where('expires_ms', '>', now())
        .executeTakeFirst();
      return row && toRequest(row);
    },

    /** Records the IdP's verified answer; false when it was answered already or is gone. */
    async answer(id: string, outcome: unknown): Promise<boolean> {
      const result = await kysely
        .updateTable('sso_requests')
        .set({ outcome: JSON.stringify(outcome) })
        .where('id', '=', id)
        .where('outcome', 'is', null)
        .where('expires_ms', '>', now())
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    /** Deletes and returns an answered, live request; undefined for anything else. */
    async take(id: string): Promise<SsoRequest | undefined> {
      const row = await kysely
        .deleteFrom('sso_requests')
        .where('id', '=', id)
        .where('outcome', 'is not', null)
        .where('expires_ms', '>', now())
        .returningAll()
        .executeTakeFirst();
      return row && toRequest(row);
    },

    /**
     * Forgets a request whose IdP answer was refused, so nothing can complete it; unless
     * another answer was accepted for it meanwhile. The same SAML response posted twice at
     * once (a double-submitted form, or a replay racing the browser) finds the request
     * pending both times; the loser is refused as a replay, and must not delete what the
     * winner answered for the browser that started the sign-in (only that browser can
     * collect it).
     */
    async drop(id: string): Promise<void> {
      await kysely
        .deleteFrom('sso_requests')
        .where('id', '=', id)
        .where('outcome', 'is', null)
        .execute();
    },
  };
}

export type SsoRequestStore = ReturnType<typeof createSsoRequestStore>;
