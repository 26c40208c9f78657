import type { AnyKysely } from '../storage/database.ts';
import { type ApiKeyStore, createApiKeyStore } from './api-keys/api-key-store.ts';
import {
  createFactorAdminStore,
  type FactorAdminStore,
} from './mfa/factor-admin/factor-admin-store.ts';
import { createSessionAdminStore, type SessionAdminStore } from './sessions/session-admin-store.ts';
import type { SessionStore } from './sessions/session-store.ts';
import { createInvitedIdentities, type InvitedIdentities } from './users/invited-identity.ts';
import { createUserStore, type UserStore } from './users/user-store.ts';

export type { User } from './users/user-store.ts';

/**
 * What identity lets another domain do with its tables inside that domain's own
 * transaction (issue 16 item 1; the shape of `audit.inTransaction`): tenancy grants,
 * renames, erases and invites users and ends their sessions in one transaction with
 * its own rows. Only these operations; the rest of identity's stores stays identity's.
 */
export interface IdentityInTransaction {
  readonly users: Pick<
    UserStore,
    'findById' | 'findManyByIds' | 'findByEmail' | 'idsMatching' | 'insert' | 'setName'
  >;
  readonly sessions: Pick<SessionAdminStore, 'revoke' | 'revokeUnfederated'>;
  readonly apiKeys: Pick<ApiKeyStore, 'revokeCreatedBy' | 'countUnrevokedWithRole'>;
  /** An invitee's first password and verified address, set by accepting the email's link. */
  readonly invitees: InvitedIdentities;
  /**
   * A user's second factors: listed without secrets, reset by an administrator, counted
   * among a tenant's members (issue 18).
   */
  readonly factors: Pick<FactorAdminStore, 'factorsOf' | 'removeAll' | 'countsAmong'>;
}

/** Identity's operations on `on`: the caller's transaction, or the database for a read. */
export function identityIn(on: AnyKysely): IdentityInTransaction {
  const handle = { kysely: on };
  return {
    users: createUserStore(handle),
    sessions: createSessionAdminStore(handle),
    apiKeys: createApiKeyStore(handle),
    invitees: createInvitedIdentities(on),
    factors: createFactorAdminStore(on),
  };
}

/** Ends every session of a user (a password reset), given by the composition root. */
export type RevokeAllSessionsOfUser = SessionStore['revokeAllOfUser'];

/** Starts a session (with changes of its own transaction), given by the composition root. */
export type StartSession = SessionStore['start'];
