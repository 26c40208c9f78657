import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { digestSecret, newSecret } from '../../platform/secrets.ts';
import type { Tables } from '../../storage/tables.ts';
import {
  columnsOf,
  type NewOAuthClient,
  type OAuthClientRecord,
  type OAuthClientSettings,
  type OAuthClientWithSecret,
  recordOf,
} from './oauth-client-record.ts';

type OAuthClientTables = Pick<Tables, 'oauth_clients'>;

export const CLIENT_ID_PREFIX = 'tc_';
export const CLIENT_SECRET_PREFIX = 'tcs_';

/** A new client_id: `tc_` and 24 base64url characters (144 random bits). */
export const newClientId = (): string =>
  `${CLIENT_ID_PREFIX}${randomBytes(18).toString('base64url')}`;

/** A confidential client's record and its secret, which is shown this once. */
export interface IssuedClient {
  readonly record: OAuthClientRecord;
  readonly secret: string;
}

export interface OAuthClientStore {
  /** The secret is null for a public client. */
  create(
    client: NewOAuthClient & { tenant_id: string; created_by: string | null },
  ): Promise<{ record: OAuthClientRecord; secret: string | null }>;
  list(
    tenantId: string,
    page: { after?: string | undefined; limit: number },
  ): Promise<OAuthClientRecord[]>;
  /** The tenant's client `id`; undefined when the tenant has none of that id. */
  get(tenantId: string, id: string): Promise<OAuthClientRecord | undefined>;
  /** The changed record; undefined when the tenant has no such client. */
  update(
    tenantId: string,
    id: string,
    changes: Partial<OAuthClientSettings>,
  ): Promise<OAuthClientRecord | undefined>;
  /**
   * A new secret for the tenant's confidential client, replacing the old one in the
   * same statement (it stops working at once); undefined when there is no such client.
   */
  rotateSecret(tenantId: string, id: string): Promise<IssuedClient | undefined>;
  /** False when the tenant has no such client. */
  delete(tenantId: string, id: string): Promise<boolean>;
  count(tenantId: string): Promise<number>;
  /** Any tenant's client by its client_id, with the digest: the provider's lookup. */
  findWithSecret(id: string): Promise<OAuthClientWithSecret | undefined>;
}

const RECORD_COLUMNS = [
  'id',
  'tenant_id',
  'name',
  'type',
  'redirect_uris',
  'post_logout_redirect_uris',
  'grant_types',
  'scopes',
  'role',
  'first_party',
  'tenant_choice',
  'access_token_ttl_seconds',
  'refresh_token_ttl_seconds',
  'secret_rotated_ms',
  'created_by',
  'created_ms',
  'updated_ms',
] as const;

/** Every query but the provider's lookup is keyed by the tenant: no other tenant's client is ever found. */
export function createOAuthClientStore(
  db: { readonly kysely: Kysely<OAuthClientTables> },
  now: () => number = Date.now,
): OAuthClientStore {
  const { kysely } = db;
  const get = async (tenantId: string, id: string) => {
    const row = await kysely
      .selectFrom('oauth_clients')
      .select(RECORD_COLUMNS)
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && recordOf(row);
  };

  return {
    async create(client) {
      const at = now();
      const secret = client.type === 'confidential' ? newSecret(CLIENT_SECRET_PREFIX) : null;
      const row = {
        id: newClientId(),
        tenant_id: client.tenant_id,
        type: client.type,
        grant_types: JSON.stringify(client.grant_types),
        name: client.name,
        redirect_uris: JSON.stringify(client.redirect_uris),
        post_logout_redirect_uris: JSON.stringify(client.post_logout_redirect_uris),
        scopes: JSON.stringify(client.scopes),
        role: client.role,
        first_party: client.first_party ? 1 : 0,
        tenant_choice: client.tenant_choice ? 1 : 0,
        access_token_ttl_seconds: client.access_token_ttl_seconds,
        refresh_token_ttl_seconds: client.refresh_token_ttl_seconds,
        secret_digest: secret === null ? null : digestSecret(secret),
        secret_rotated_ms: secret === null ? null : at,
        created_by: client.created_by,
        created_ms: at,
        updated_ms: at,
      };
      await kysely.insertInto('oauth_clients').values(row).execute();
      const { secret_digest: _digest, ...rest } = row;
      return { record: recordOf(rest), secret };
    },
    async list(tenantId, { after, limit }) {
      let query = kysely
        .selectFrom('oauth_clients')
        .select(RECORD_COLUMNS)
        .where('tenant_id', '=', tenantId);
      if (after !== undefined) query = query.where('id', '>', after);
      const rows = await query.orderBy('id').limit(limit).execute();
      return rows.map(recordOf);
    },
    get,
    async update(tenantId, id, changes) {
      const result = await kysely
        .updateTable('oauth_clients')
        .set({ ...columnsOf(changes), updated_ms: now() })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0 ? get(tenantId, id) : undefined;
    },
    async rotateSecret(tenantId, id) {
      const secret = newSecret(CLIENT_SECRET_PREFIX);
      const at = now();
      const result = await kysely
        .updateTable('oauth_clients')
        .set({ secret_digest: digestSecret(secret), secret_rotated_ms: at, updated_ms: at })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .where('type', '=', 'confidential')
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) return undefined;
      const record = await get(tenantId, id);
      return record && { record, secret };
    },
    async delete(tenantId, id) {
      const result = await kysely
        .deleteFrom('oauth_clients')
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async count(tenantId) {
      const row = await kysely
        .selectFrom('oauth_clients')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('tenant_id', '=', tenantId)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async findWithSecret(id) {
      const row = await kysely
        .selectFrom('oauth_clients')
        .select([...RECORD_COLUMNS, 'secret_digest'])
        .where('id', '=', id)
        .executeTakeFirst();
      return row && { ...recordOf(row), secret_digest: row.secret_digest };
    },
  };
}
