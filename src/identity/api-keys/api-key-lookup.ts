import type { AnyKysely } from '../../storage/database.ts';
import type { MemberStanding, StandingOf } from '../tenancy-port.ts';
import { type ApiKeyRecord, createApiKeyStore } from './api-key-store.ts';

/** A key with what the guard weighs it by: its tenant's state and its creator's roles. */
export interface ApiKeyOwner extends ApiKeyRecord {
  /** `active`, `suspended` or `deleted`. */
  readonly tenant_status: string;
  /**
   * The roles its creator holds in the key's tenant now, which cap the key (issue
   * 15): empty when the creator is no active member any more. Null for a key with no
   * creator (made by an operator with the CLI): the tenant's own, capped by its role.
   */
  readonly creator_roles: readonly string[] | null;
}

export type LookupApiKey = (secretDigest: string) => Promise<ApiKeyOwner | undefined>;

/** What caps a key: its creator's roles while an active member, none after; null: no creator. */
function creatorRoles(key: ApiKeyRecord, standing: MemberStanding): readonly string[] | null {
  if (key.created_by === null) return null;
  if (standing.roles === null || standing.membership_status !== 'active') return [];
  return standing.roles;
}

/**
 * The key whose secret has this digest, whatever its state, for the guard to judge:
 * the key from identity's own table, then its tenant and creator from tenancy's.
 */
export function createApiKeyLookup(
  db: { readonly kysely: AnyKysely },
  standingOf: StandingOf,
): LookupApiKey {
  const keys = createApiKeyStore(db);
  return async (secretDigest) => {
    const key = await keys.findByDigest(secretDigest);
    if (!key) return undefined;
    const standing = await standingOf(db.kysely, key.tenant_id, key.created_by);
    // The foreign key keeps the tenant's row (tenants are only soft-deleted).
    if (!standing) return undefined;
    return {
      ...key,
      tenant_status: standing.tenant_status,
      creator_roles: creatorRoles(key, standing),
    };
  };
}
