import { timingSafeEqual } from 'node:crypto';
import { digestSecret } from '../../platform/secrets.ts';
import type { AnyKysely } from '../../storage/database.ts';
import type { MemberStanding, StandingOf } from '../tenancy-port.ts';
import type { OAuthClientWithSecret } from './oauth-client-record.ts';
import { createOAuthClientStore } from './oauth-client-store.ts';

/** A client with what the provider weighs it by: its tenant's state and its creator's roles. */
export interface OAuthClientOwner extends OAuthClientWithSecret {
  /** `active`, `suspended` or `deleted`. */
  readonly tenant_status: string;
  /**
   * The roles its creator holds in the client's tenant now, which cap a
   * `client_credentials` client's role as they cap an API key's (issue 15): empty when
   * the creator is no active member any more; null for a client nobody created (an API
   * key without a creator registered it), capped by its role alone.
   */
  readonly creator_roles: readonly string[] | null;
}

export type LookupOAuthClient = (clientId: string) => Promise<OAuthClientOwner | undefined>;

function creatorRoles(
  client: OAuthClientWithSecret,
  standing: MemberStanding,
): readonly string[] | null {
  if (client.created_by === null) return null;
  if (standing.roles === null || standing.membership_status !== 'active') return [];
  return standing.roles;
}

/**
 * The client of this client_id in any tenant, whatever its state, for the OpenID
 * Provider and the guard to judge: the client from identity's table, then its tenant
 * and creator from tenancy's. It caches nothing: a caller that caches keys the entry
 * on the client (`oauth_client`), its tenant and its creator, whose changes drop it.
 */
export function createOAuthClientLookup(
  db: { readonly kysely: AnyKysely },
  standingOf: StandingOf,
): LookupOAuthClient {
  const clients = createOAuthClientStore(db);
  return async (clientId) => {
    const client = await clients.findWithSecret(clientId);
    if (!client) return undefined;
    const standing = await standingOf(db.kysely, client.tenant_id, client.created_by);
    // The foreign key keeps the tenant's row (tenants are only soft-deleted).
    if (!standing) return undefined;
    return {
      ...client,
      tenant_status: standing.tenant_status,
      creator_roles: creatorRoles(client, standing),
    };
  };
}

/**
 * Whether `presented` is the client's current secret. Digests of equal length are
 * compared in constant time, so the answer's timing tells nothing about how much of a
 * guess was right. A public client has no secret: nothing matches.
 */
export function verifyClientSecret(
  record: Pick<OAuthClientWithSecret, 'secret_digest'>,
  presented: string,
): boolean {
  if (record.secret_digest === null) return false;
  const expected = Buffer.from(record.secret_digest, 'hex');
  const actual = Buffer.from(digestSecret(presented), 'hex');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
