import type { Kysely } from 'kysely';
import { digestSecret, newId, newSecret } from '../../platform/secrets.ts';
import type { Database } from '../../storage/open-database.ts';
import type { Tables } from '../../storage/tables.ts';
import { type CredentialChanges, IGNORE_CREDENTIAL_CHANGES } from '../guard/credential-cache.ts';

type ApiKeyTables = Pick<Tables, 'api_keys'>;

/** What listings show: never the secret, never its digest. */
export interface ApiKeyRecord {
  readonly id: string;
  readonly tenant_id: string;
  readonly name: string;
  readonly role: string;
  readonly prefix: string;
  readonly created_by: string | null;
  readonly created_ms: number;
  readonly expires_ms: number | null;
  readonly last_used_ms: number | null;
  readonly revoked_ms: number | null;
}

export interface NewApiKey {
  readonly tenant_id: string;
  readonly name: string;
  readonly role: string;
  readonly created_by: string | null;
  readonly expires_ms: number | null;
}

export interface ApiKeyStore {
  /** The record and the secret, which is shown this once and never stored. */
  create(key: NewApiKey): Promise<{ record: ApiKeyRecord; secret: string }>;
  list(
    tenantId: string,
    options: { after?: string | undefined; limit: number },
  ): Promise<ApiKeyRecord[]>;
  /** The role of the tenant's unrevoked key `id`; undefined when there is none. */
  liveRoleOf(tenantId: string, id: string): Promise<string | undefined>;
  /** False when the tenant has no such key (or it was revoked already). */
  revoke(tenantId: string, id: string): Promise<boolean>;
  /**
   * The key whose secret has this digest (`digestSecret`), whatever its state; the
   * caller judges it. The caller digests once and may key a cache on it too.
   */
  findByDigest(secretDigest: string): Promise<ApiKeyRecord | undefined>;
  /** Records use, at most once a minute per key and process: not a write per request. */
  touch(id: string): Promise<void>;
  /** The tenant's live keys: neither revoked nor expired. */
  countLive(tenantId: string): Promise<number>;
  /** The tenant's unrevoked keys naming `role`, expired ones included. */
  countUnrevokedWithRole(tenantId: string, role: string): Promise<number>;
  /** Revokes the unrevoked keys `userId` created, in every tenant; returns how many. */
  revokeCreatedBy(userId: string): Promise<number>;
}

export const API_KEY_PREFIX = 'tsk_';
const TOUCH_EVERY_MS = 60_000;
const RECORD_COLUMNS = [
  'api_keys.id',
  'api_keys.tenant_id',
  'api_keys.name',
  'api_keys.role',
  'api_keys.prefix',
  'api_keys.created_by',
  'api_keys.created_ms',
  'api_keys.expires_ms',
  'api_keys.last_used_ms',
  'api_keys.revoked_ms',
] as const;

export function createApiKeyStore(
  db: Pick<Database, 'kysely'>,
  now: () => number = Date.now,
  changes: CredentialChanges = IGNORE_CREDENTIAL_CHANGES,
): ApiKeyStore {
  const kysely: Kysely<ApiKeyTables> = db.kysely;
  const touched = new Map<string, number>();

  async function countLive(tenantId: string): Promise<number> {
    const row = await kysely
      .selectFrom('api_keys')
      .select((eb) => eb.fn.countAll<number>().as('live'))
      .where('tenant_id', '=', tenantId)
      .where('revoked_ms', 'is', null)
      .where((eb) => eb.or([eb('expires_ms', 'is', null), eb('expires_ms', '>', now())]))
      .executeTakeFirstOrThrow();
    return Number(row.live);
  }

  return {
    async create(key) {
      const secret = newSecret(API_KEY_PREFIX);
      const record: ApiKeyRecord = {
        id: newId(),
        ...key,
        // Enough to tell keys apart in a listing, far too little to guess the rest.
        prefix: secret.slice(0, API_KEY_PREFIX.length + 6),
        created_ms: now(),
        last_used_ms: null,
        revoked_ms: null,
      };
      await kysely
        .insertInto('api_keys')
        .values({ ...record, secret_hash: digestSecret(secret) })
        .execute();
      return { record, secret };
    },
    async list(tenantId, { after, limit }) {
      let query = kysely
        .selectFrom('api_keys')
        .select(RECORD_COLUMNS)
        .where('tenant_id', '=', tenantId);
      if (after !== undefined) query = query.where('api_keys.id', '>', after);
      return query.orderBy('api_keys.id').limit(limit).execute();
    },
    async liveRoleOf(tenantId, id) {
      const row = await kysely
        .selectFrom('api_keys')
        .select('role')
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .where('revoked_ms', 'is', null)
        .executeTakeFirst();
      return row?.role;
    },
    async revoke(tenantId, id) {
      const result = await kysely
        .updateTable('api_keys')
        .set({ revoked_ms: now() })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .where('revoked_ms', 'is', null)
        .executeTakeFirst();
      changes.changed({ kind: 'api_key', id });
      return Number(result.numUpdatedRows) > 0;
    },
    findByDigest(secretDigest) {
      return kysely
        .selectFrom('api_keys')
        .select(RECORD_COLUMNS)
        .where('secret_hash', '=', secretDigest)
        .executeTakeFirst();
    },
    countLive,
    async countUnrevokedWithRole(tenantId, role) {
      const row = await kysely
        .selectFrom('api_keys')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('tenant_id', '=', tenantId)
        .where('role', '=', role)
        .where('revoked_ms', 'is', null)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async revokeCreatedBy(userId) {
      const result = await kysely
        .updateTable('api_keys')
        .set({ revoked_ms: now() })
        .where('created_by', '=', userId)
        .where('revoked_ms', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
    async touch(id) {
      const at = now();
      if (at - (touched.get(id) ?? 0) < TOUCH_EVERY_MS) return;
      touched.set(id, at);
      await kysely.updateTable('api_keys').set({ last_used_ms: at }).where('id', '=', id).execute();
    },
  };
}
