import type { User } from '../../identity/identity-port.ts';
import { identityIn } from '../../identity/identity-port.ts';
import type { AnyKysely } from '../../storage/database.ts';
import {
  createUserAdminStore,
  type MembershipRecord,
  type TenantUser,
  type UserFilter,
} from './user-admin-store.ts';

/**
 * A tenant's users as its administrators see them: the tenant's memberships (tenancy's
 * tables) beside their identities (identity's user store), read on `on`, the database
 * or the caller's transaction. A page costs two queries, never one per user.
 */
export function createTenantUserReads(on: AnyKysely, options: { readonly rowLocks: boolean }) {
  const memberships = createUserAdminStore({ kysely: on }, options);
  const users = identityIn(on).users;

  /** In the memberships' order; one whose identity is gone meanwhile is left out. */
  async function withIdentities(records: readonly MembershipRecord[]): Promise<TenantUser[]> {
    const found = await users.findManyByIds(records.map((record) => record.user_id));
    const byId = new Map(found.map((user) => [user.id, user]));
    return records.flatMap((record) => {
      const user = byId.get(record.user_id);
      return user ? [tenantUser(user, record)] : [];
    });
  }

  return {
    async get(tenantId: string, userId: string): Promise<TenantUser | undefined> {
      const record = await memberships.getMembership(tenantId, userId);
      return record && (await withIdentities([record]))[0];
    },

    /** By user id; `q` is identity's to match (email or name), in the same read as the page. */
    async list(tenantId: string, { q, ...filter }: UserFilter): Promise<TenantUser[]> {
      const matching = q === undefined ? undefined : users.idsMatching(q);
      return withIdentities(await memberships.listMemberships(tenantId, filter, matching));
    },
  };
}

export type TenantUserReads = ReturnType<typeof createTenantUserReads>;

function tenantUser(user: User, record: MembershipRecord): TenantUser {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    email_verified: user.email_verified,
    created_ms: user.created_ms,
    roles: record.roles,
    status: record.status,
    joined_ms: record.joined_ms,
  };
}
