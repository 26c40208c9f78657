import type { AuditContext } from '../../access/audit-context.ts';
import { AccessErrors } from '../../access/errors.ts';
import type { Principal } from '../../access/principal.ts';
import type { AuditEntry } from '../../audit/audit-entry.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import { IdentityErrors } from '../../identity/errors.ts';
import type { CredentialChanges } from '../../identity/guard/credential-cache.ts';
import { identityIn, type StartSession } from '../../identity/identity-port.ts';
import { hashPassword } from '../../identity/login/passwords.ts';
import { requireStrongPassword } from '../../identity/login/require-strong-password.ts';
import {
  type IssueAccessToken,
  issueTokenSet,
  type TokenSet,
} from '../../identity/tokens/issue-token-set.ts';
import { isTesseraError, TesseraError } from '../../platform/errors.ts';
import { validationFailed } from '../../platform/validation-failed.ts';
import type { AnyKysely, DatabaseBase } from '../../storage/database.ts';
import { TenancyErrors } from '../errors.ts';
import { SYSTEM_TENANT_ID } from '../role-names.ts';
import { createTenantStore } from '../tenants/tenant-store.ts';
import { invitationDigest } from './invitation-email.ts';
import { createInvitationStore, type InvitationByToken } from './invitation-store.ts';
import { type Joined, joinInvitedTenant } from './join-invited-tenant.ts';

export interface InvitationLinkDeps {
  readonly db: Pick<DatabaseBase, 'transaction' | 'kysely' | 'capabilities'>;
  readonly audit: AuditLog;
  /** Hears of the new membership once it commits. */
  readonly changes: CredentialChanges;
  /** Identity's: the new session in the invited tenant. */
  readonly startSession: StartSession;
  readonly issueAccessToken: IssueAccessToken;
  /** `auth.password_min_length`, for a new identity's first password. */
  readonly passwordMinLength: number;
}

/** What the link's page shows before anything is done. */
export interface InvitationPreview {
  readonly tenant_id: string;
  readonly tenant_name: string;
  readonly email: string;
  /** The identity has no password yet (the invitation created it): the page asks for one. */
  readonly needs_password: boolean;
}

/** What the invitee sends with the link's token. */
export interface LinkAcceptance {
  readonly token: string;
  /** Required (and held to the policy) when the identity has no password yet. */
  readonly password?: string | undefined;
  /** A new identity's name; ignored for an identity that has a password. */
  readonly name?: string | undefined;
}

/** Who follows the link: signed in (an access token) or not, and from where. */
export interface LinkCaller {
  readonly principal: Principal | null;
  readonly audit: AuditContext;
}

export interface LinkAccepted {
  readonly tenant_id: string;
  readonly tenant_name: string;
  readonly email: string;
  readonly roles: readonly string[];
  readonly team_ids: readonly string[];
  /** The new session's tokens, when one was asked for (the API; the page signs nobody in). */
  readonly tokens: TokenSet | undefined;
}

/** As a user's name anywhere else (`POST /users`, `PATCH /users/{id}`). */
const NAME_MAX_LENGTH = 200;

function invalidLink(): TesseraError {
  return new TesseraError(
    IdentityErrors.email_token_invalid,
    'This invitation link is unknown, used, replaced by a newer one, withdrawn or expired; ask for a new invitation.',
  );
}

function loginRequired(tenantName: string): TesseraError {
  return new TesseraError(
    TenancyErrors.invitation_login_required,
    `This address already has an account: sign in with it, then accept the invitation to ${tenantName} (or send this request with that user's access token).`,
    { headers: { 'www-authenticate': 'Bearer realm="tessera"' } },
  );
}

/**
 * Accepting an invitation by the token its email carries (issue 17): the API
 * (`POST /auth/invitations/accept`) and the link's page. Every refusal is decided
 * before the invitation is used: the token is looked up without being used, the
 * password checked against the policy and hashed, the caller compared with the
 * invitee; only then, in one transaction, is the invitation consumed by its token (one
 * DELETE ... RETURNING: of concurrent uses exactly one wins), the identity set up, the
 * membership and team places made, and everything recorded. A refusal inside that
 * transaction (a custom role deleted since, a membership made meanwhile) rolls the
 * consumption back.
 */
export function createInvitationLinkService(deps: InvitationLinkDeps) {
  const { db, audit, changes } = deps;

  /** The live invitation of `token`, else 400 `email_token_invalid`. */
  async function find(token: string): Promise<InvitationByToken> {
    const found = await createInvitationStore(db.kysely).findByToken(invitationDigest(token));
    if (!found) throw invalidLink();
    return found;
  }

  /** A refused use of a link, in the inviting tenant's trail (the platform's: no invitation). */
  async function recordRefusal(
    context: AuditContext,
    found: InvitationByToken | undefined,
    reason: string,
  ): Promise<void> {
    await audit.record(context, [
      {
        tenant_id: found?.tenant_id ?? SYSTEM_TENANT_ID,
        action: 'invitation.accept_failed',
        target: found ? `user:${found.user_id}` : null,
        outcome: 'failure',
        details: { invitation_id: found?.id ?? null, reason },
      },
    ]);
  }

  /** What the new identity's owner sets up, decided (and hashed) before any write. */
  async function setUpOf(
    found: InvitationByToken,
    input: LinkAcceptance,
    caller: LinkCaller,
  ): Promise<{ password_hash: string; name: string | null } | undefined> {
    if (await identityIn(db.kysely).invitees.hasPassword(found.user_id)) {
      const principal = caller.principal;
      if (principal?.kind !== 'user' || principal.userId !== found.user_id) {
        throw loginRequired(found.tenant_name);
      }
      return undefined;
    }
    if (input.password === undefined) {
      throw validationFailed([
        { path: '/password', message: 'is required: the invited account has no password yet' },
      ]);
    }
    const name = input.name?.trim() ?? '';
    // The API's schema says as much; the page's form posts whatever it is sent.
    if (name.length > NAME_MAX_LENGTH) {
      throw validationFailed([
        { path: '/name', message: `must be at most ${NAME_MAX_LENGTH} characters` },
      ]);
    }
    requireStrongPassword(input.password, deps.passwordMinLength);
    return {
      password_hash: await hashPassword(input.password),
      name: name || null,
    };
  }

  async function accept(
    input: LinkAcceptance,
    caller: LinkCaller,
    options: { session: boolean },
  ): Promise<LinkAccepted> {
    const digest = invitationDigest(input.token);
    let found: InvitationByToken | undefined;
    try {
      found = await find(input.token);
      if (found.tenant_status !== 'active') {
        throw new TesseraError(
          AccessErrors.tenant_suspended,
          `Tenant ${found.tenant_id} is suspended; the invitation waits until it is active again.`,
        );
      }
      const invitation = found;
      const setUp = await setUpOf(invitation, input, caller);
      const userId = invitation.user_id;
      const context: AuditContext = { ...caller.audit, actor: userId, actor_type: 'user' };
      // Set by the transaction that joins; read once it committed.
      const result: { joined?: Joined } = {};
      const join = async (trx: AnyKysely, more: AuditEntry[]) => {
        const consumed = await createInvitationStore(trx).consumeByToken(digest);
        if (!consumed || consumed.user_id !== userId) throw invalidLink();
        // Set up by another of its invitations' links meanwhile: its owner signs in now.
        if (setUp && !(await identityIn(trx).invitees.setUp(userId, setUp))) {
          throw loginRequired(invitation.tenant_name);
        }
        if (!(await createTenantStore({ kysely: trx }).get(consumed.tenant_id))) {
          throw invalidLink();
        }
        const joined = await joinInvitedTenant(trx, db.capabilities, consumed, userId);
        result.joined = joined;
        const [accepted, ...teams] = joined.entries;
        const details = { ...accepted?.details, via: 'link', account_set_up: setUp !== undefined };
        await audit.inTransaction(trx, context, [
          { ...(accepted as AuditEntry), details },
          ...teams,
          ...more,
        ]);
      };
      let tokens: TokenSet | undefined;
      if (options.session) {
        const started = await deps.startSession(
          userId,
          invitation.tenant_id,
          caller.audit,
          (trx, session) =>
            join(trx, [
              {
                tenant_id: session.tenant_id,
                action: 'login.succeeded',
                target: `session:${session.id}`,
                outcome: 'success',
                details: { method: 'invitation' },
              },
            ]),
        );
        const roles = result.joined?.roles ?? [];
        // An account the link set up has its address verified by it; another keeps its own.
        const verified =
          setUp !== undefined ||
          (await identityIn(db.kysely).users.findById(userId))?.email_verified === true;
        tokens = await issueTokenSet(
          deps.issueAccessToken,
          userId,
          invitation.tenant_id,
          roles,
          started,
          verified,
        );
      } else {
        await db.transaction((trx: AnyKysely) => join(trx, []));
      }
      changes.changed({ kind: 'user', id: userId });
      const done = result.joined;
      const user = await identityIn(db.kysely).users.findById(userId);
      return {
        tenant_id: invitation.tenant_id,
        tenant_name: invitation.tenant_name,
        email: user?.email ?? '',
        roles: done?.roles ?? [],
        team_ids: done?.team_ids ?? [],
        tokens,
      };
    } catch (error) {
      if (isTesseraError(error) && error.status < 500) {
        await recordRefusal(caller.audit, found, error.code);
      }
      throw error;
    }
  }

  return {
    /** What the page shows; reads only (mail scanners open links). 400 `email_token_invalid`. */
    async preview(token: string): Promise<InvitationPreview> {
      const found = await find(token);
      const identity = identityIn(db.kysely);
      const user = await identity.users.findById(found.user_id);
      if (!user) throw invalidLink();
      return {
        tenant_id: found.tenant_id,
        tenant_name: found.tenant_name,
        email: user.email,
        needs_password: !(await identity.invitees.hasPassword(found.user_id)),
      };
    },

    accept,
  };
}

export type InvitationLinkService = ReturnType<typeof createInvitationLinkService>;
