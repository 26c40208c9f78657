import type { Kysely } from 'kysely';
import type { AnyKysely } from '../../storage/database.ts';
import type { Tables } from '../../storage/tables.ts';

type OidcTables = Pick<Tables, 'oidc_payloads'>;

/** What oidc-provider stores: an object of its own making, JSON-serialisable. */
export type OidcPayload = Record<string, unknown> & {
  grantId?: string;
  uid?: string;
  accountId?: string;
  consumed?: number;
};

/** The interface oidc-provider calls its storage through (one instance per model name). */
export interface OidcAdapter {
  upsert(id: string, payload: OidcPayload, expiresIn: number): Promise<void>;
  find(id: string): Promise<OidcPayload | undefined>;
  findByUid(uid: string): Promise<OidcPayload | undefined>;
  findByUserCode(userCode: string): Promise<OidcPayload | undefined>;
  consume(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
}

export interface OidcAdapterOptions {
  readonly db: { readonly kysely: AnyKysely };
  /** Models answered from elsewhere (`Client`: the client registry), by model name. */
  readonly models?: Readonly<Record<string, Partial<OidcAdapter>>>;
  /** Told when the provider revokes a grant (code reuse, refresh-token reuse, revocation, logout). */
  readonly onGrantRevoked: (grantId: string) => Promise<void>;
  /** The error a second use of a code or refresh token fails with (the provider's invalid_grant). */
  readonly alreadyConsumed: () => Error;
  /** Epoch ms. */
  readonly now?: () => number;
}

/** Expired rows are deleted this many at a time, once in this many writes: bounded work. */
const SWEEP_EVERY = 200;
const SWEEP_BATCH = 500;

/**
 * oidc-provider's storage on Tessera's database (either engine): one row per model and
 * id in `oidc_payloads`. Expired rows are never answered and are swept as writes go by,
 * so the table holds only what is alive plus a bounded backlog.
 */
export function createOidcAdapter(options: OidcAdapterOptions): (model: string) => OidcAdapter {
  const kysely: Kysely<OidcTables> = options.db.kysely;
  const now = options.now ?? Date.now;
  let writes = 0;

  async function sweep(): Promise<void> {
    const expired = kysely
      .selectFrom('oidc_payloads')
      .select(['model', 'id'])
      .where('expires_ms', '<=', now())
      .limit(SWEEP_BATCH);
    const rows = await expired.execute();
    for (const row of rows) {
      await kysely
        .deleteFrom('oidc_payloads')
        .where('model', '=', row.model)
        .where('id', '=', row.id)
        .where('expires_ms', '<=', now())
        .execute();
    }
  }

  const live = (model: string) =>
    kysely
      .selectFrom('oidc_payloads')
      .select(['payload', 'consumed_ms'])
      .where('model', '=', model)
      .where((eb) => eb.or([eb('expires_ms', 'is', null), eb('expires_ms', '>', now())]));

  const parse = (row: { payload: string; consumed_ms: number | null } | undefined) => {
    if (!row) return undefined;
    const payload = JSON.parse(row.payload) as OidcPayload;
    return row.consumed_ms === null
      ? payload
      : { ...payload, consumed: Math.floor(row.consumed_ms / 1000) };
  };

  return (model) => {
    const stored: OidcAdapter = {
      async upsert(id, payload, expiresIn) {
        const values = {
          payload: JSON.stringify(payload),
          grant_id: typeof payload.grantId === 'string' ? payload.grantId : null,
          uid: typeof payload.uid === 'string' ? payload.uid : null,
          account_id: typeof payload.accountId === 'string' ? payload.accountId : null,
          expires_ms: expiresIn > 0 ? now() + expiresIn * 1000 : null,
        };
        await kysely
          .insertInto('oidc_payloads')
          .values({ model, id, consumed_ms: null, ...values })
          .onConflict((conflict) => conflict.columns(['model', 'id']).doUpdateSet(values))
          .execute();
        writes += 1;
        if (writes % SWEEP_EVERY === 0) await sweep();
      },
      async find(id) {
        return parse(await live(model).where('id', '=', id).executeTakeFirst());
      },
      async findByUid(uid) {
        return parse(await live(model).where('uid', '=', uid).executeTakeFirst());
      },
      // The device flow is not enabled, so nothing is ever stored by user code.
      async findByUserCode() {
        return undefined;
      },
      /**
       * One conditional UPDATE: of two requests racing with one code (or one refresh
       * token), on any number of nodes, exactly one consumes it. The provider checks
       * `consumed` before it calls this, but both racers may pass that check; the loser
       * is treated as the reuse it is (the grant revoked, RFC 9700 §4.14.2).
       */
      async consume(id) {
        const consumed = await kysely
          .updateTable('oidc_payloads')
          .set({ consumed_ms: now() })
          .where('model', '=', model)
          .where('id', '=', id)
          .where('consumed_ms', 'is', null)
          .returning('grant_id')
          .executeTakeFirst();
        if (consumed) return;
        const row = await kysely
          .selectFrom('oidc_payloads')
          .select('grant_id')
          .where('model', '=', model)
          .where('id', '=', id)
          .executeTakeFirst();
        if (row?.grant_id) await stored.revokeByGrantId(row.grant_id);
        throw options.alreadyConsumed();
      },
      async destroy(id) {
        await kysely
          .deleteFrom('oidc_payloads')
          .where('model', '=', model)
          .where('id', '=', id)
          .execute();
      },
      async revokeByGrantId(grantId) {
        // Every model's rows of the grant, whichever model the provider asked through.
        await kysely.deleteFrom('oidc_payloads').where('grant_id', '=', grantId).execute();
        await options.onGrantRevoked(grantId);
      },
    };
    return { ...stored, ...options.models?.[model] };
  };
}

/** Ends every browser session (SSO) of a user at the provider: their Tessera sessions all ended. */
export async function endProviderSessionsOf(trx: AnyKysely, userId: string): Promise<void> {
  const kysely: Kysely<OidcTables> = trx;
  await kysely
    .deleteFrom('oidc_payloads')
    .where('model', '=', 'Session')
    .where('account_id', '=', userId)
    .execute();
}
