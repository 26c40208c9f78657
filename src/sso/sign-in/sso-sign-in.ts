import type { AuditContext } from '../../access/audit-context.ts';
import { AccessErrors } from '../../access/errors.ts';
import type { RolePolicy } from '../../access/role-policy.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import { IdentityErrors } from '../../identity/errors.ts';
import type { CredentialChanges } from '../../identity/guard/credential-cache.ts';
import type { StartSession } from '../../identity/identity-port.ts';
import {
  type AccountAdmissionDeps,
  admitAccount,
  SignInRefusal,
} from '../../identity/login/sign-in-refusal.ts';
import type { SignInOf } from '../../identity/tenancy-port.ts';
import {
  type IssueAccessToken,
  issueTokenSet,
  type TokenSet,
} from '../../identity/tokens/issue-token-set.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { AnyKysely, DatabaseBase } from '../../storage/database.ts';
import type { AdmissionRefusal, FederatedMembers } from '../../tenancy/users/federated-members.ts';
import type { SsoConnection } from '../connections/connection-record.ts';
import { SsoErrors } from '../errors.ts';
import type { FederatedIdentity } from '../federated-identity.ts';
import { mapGroups } from './group-mapping.ts';
import { createSsoIdentityStore } from './sso-identity-store.ts';

export interface SsoSignInDeps {
  readonly db: Pick<DatabaseBase, 'transaction' | 'kysely'>;
  readonly audit: AuditLog;
  readonly members: FederatedMembers;
  readonly roles: Pick<RolePolicy, 'normalize'>;
  readonly sessions: { readonly start: StartSession };
  readonly issueAccessToken: IssueAccessToken;
  /** The checks every sign-in makes: active account, not locked, a member, tenant active. */
  readonly admission: AccountAdmissionDeps;
  readonly signInOf: SignInOf;
  readonly changes: CredentialChanges;
  /** `sso_logins_total{type,outcome}`. */
  readonly counted: (type: SsoConnection['type'], outcome: string) => void;
  readonly now?: () => number;
}

/** A refusal: what the browser is told, and the reason only the trail and metrics keep. */
export class SsoSignInRefused extends Error {
  readonly reason: string;
  readonly error: TesseraError;
  constructor(reason: string, error: TesseraError) {
    super(error.detail);
    this.reason = reason;
    this.error = error;
  }
}

const REFUSALS: Readonly<Record<AdmissionRefusal, () => TesseraError>> = {
  email_missing: () =>
    new TesseraError(
      SsoErrors.sso_account_not_linkable,
      'The identity provider sent no email address for this account; ask your administrator to release the email claim.',
    ),
  email_not_verified: () =>
    new TesseraError(
      SsoErrors.sso_email_not_verified,
      'An account with this email address exists, and the identity provider does not vouch for the address: it cannot be linked.',
    ),
  account_shared: () =>
    new TesseraError(
      SsoErrors.sso_account_not_linkable,
      'An account with this email address belongs to other organizations too; it cannot be taken over by this organization’s identity provider. Sign in with it directly, or ask an administrator.',
    ),
  not_provisioned: () =>
    new TesseraError(
      SsoErrors.sso_account_not_linkable,
      'This organization does not create accounts on first sign-in; ask an administrator to invite you.',
    ),
  user_disabled: () => cannotSignIn(),
  tenant_suspended: () =>
    new TesseraError(AccessErrors.tenant_suspended, 'This organization is suspended.'),
  membership_deactivated: () =>
    new TesseraError(
      IdentityErrors.membership_deactivated,
      'Your membership of this organization is deactivated; ask an administrator.',
    ),
};

function cannotSignIn(): TesseraError {
  return new TesseraError(
    IdentityErrors.invalid_credentials,
    'This account cannot sign in to this organization; ask an administrator.',
  );
}

/** The methods a federated session proved: `fed` (RFC 8176), and what the IdP reported. */
function proofOf(identity: FederatedIdentity) {
  const amr = [...new Set(['fed', ...identity.amr.filter((value) => /^[a-z]{2,8}$/.test(value))])];
  return { amr, secondFactor: identity.amr.includes('mfa') };
}

/**
 * The last step of a single sign-on: the IdP's verified answer becomes an account, a
 * membership with the mapped roles and teams (tenancy's rules), a link of the IdP
 * subject, and a session with tokens like any other login's (`amr` has `fed`). A
 * refusal changes nothing and is recorded with its reason.
 */
export function createSsoSignIn(deps: SsoSignInDeps) {
  const { db, audit } = deps;
  const now = deps.now ?? Date.now;

  /**
   * The mapped roles the tenant still defines: a custom role deleted since the mapping
   * was saved is dropped alone, not the sign-in nor the other roles; with none left,
   * the member is a viewer (every member holds a role).
   */
  async function knownRoles(
    trx: AnyKysely,
    tenantId: string,
    roles: readonly string[],
  ): Promise<readonly string[]> {
    try {
      return await deps.roles.normalize(trx, tenantId, roles);
    } catch (error) {
      if (!(error instanceof TesseraError)) throw error;
      const kept: string[] = [];
      for (const role of roles) {
        const known = await deps.roles.normalize(trx, tenantId, [role]).catch(() => []);
        kept.push(...known);
      }
      return kept.length > 0 ? deps.roles.normalize(trx, tenantId, kept) : ['viewer'];
    }
  }

  async function admit(
    connection: SsoConnection,
    identity: FederatedIdentity,
    context: AuditContext,
  ) {
    const settings = await deps.signInOf(connection.tenant_id);
    if (!settings) throw new SsoSignInRefused('tenant_unavailable', cannotSignIn());
    const mapped = mapGroups(connection.mapping, identity.groups);
    const attempt = () =>
      db.transaction(async (trx: AnyKysely) => {
        const links = createSsoIdentityStore(trx, now);
        const admission = await deps.members.admit(trx, {
          tenantId: connection.tenant_id,
          linkedUserId: await links.userOf(connection.id, identity.subject),
          email: identity.email,
          emailVerified: identity.emailVerified,
          name: identity.name,
          jit: connection.mapping.jit,
          roles: await knownRoles(trx, connection.tenant_id, mapped.roles),
          managedTeams: mapped.managedTeams,
          teams: mapped.teams,
          untouchable: settings.sso_break_glass,
        });
        if (!admission.ok) {
          throw new SsoSignInRefused(admission.reason, REFUSALS[admission.reason]());
        }
        await links.signedIn(
          connection.id,
          identity.subject,
          admission.user.id,
          connection.tenant_id,
        );
        await audit.inTransaction(
          trx,
          { ...context, actor: admission.user.id, actor_type: 'user' },
          [
            ...admission.entries,
            ...(admission.linked
              ? [
                  {
                    tenant_id: connection.tenant_id,
                    action: 'sso.identity_linked',
                    target: `user:${admission.user.id}`,
                    outcome: 'success' as const,
                    details: { connection_id: connection.id, subject: identity.subject },
                  },
                ]
              : []),
          ],
        );
        return admission;
      });
    try {
      return await attempt();
    } catch (error) {
      // Two first sign-ins of one person at once: one created the account; the other
      // links to it now.
      if (error instanceof TesseraError && error.code === IdentityErrors.email_taken) {
        return attempt();
      }
      throw error;
    }
  }

  return {
    /** Throws the refusal's TesseraError (recorded, counted) when the person may not come in. */
    async signIn(
      connection: SsoConnection,
      identity: FederatedIdentity,
      context: AuditContext,
    ): Promise<TokenSet> {
      try {
        const admitted = await admit(connection, identity, context);
        deps.changes.changed({ kind: 'user', id: admitted.user.id });
        const membership = await admitAccount(
          deps.admission,
          admitted.user,
          connection.tenant_id,
          cannotSignIn,
        ).catch((refusal: unknown) => {
          if (refusal instanceof SignInRefusal) {
            throw new SsoSignInRefused(refusal.reason, refusal.error);
          }
          throw refusal;
        });
        const userContext = { ...context, actor: admitted.user.id, actor_type: 'user' as const };
        const started = await deps.sessions.start(
          admitted.user.id,
          connection.tenant_id,
          context,
          (trx, session) =>
            audit.inTransaction(trx, userContext, [
              {
                tenant_id: connection.tenant_id,
                action: 'sso.login',
                target: `session:${session.id}`,
                outcome: 'success',
                details: {
                  connection_id: connection.id,
                  type: connection.type,
                  subject: identity.subject,
                  created: admitted.created,
                  linked: admitted.linked,
                  roles: admitted.roles,
                },
              },
            ]),
          proofOf(identity),
        );
        deps.counted(connection.type, 'success');
        return await issueTokenSet(
          deps.issueAccessToken,
          admitted.user.id,
          connection.tenant_id,
          membership.roles,
          started,
          admitted.user.email_verified,
        );
      } catch (error) {
        if (!(error instanceof SsoSignInRefused)) throw error;
        await refused(connection, identity.subject, error.reason, context);
        throw error.error;
      }
    },

    /** A refusal before any account was looked at (the protocol's): recorded and counted. */
    refused,
  };

  /** An administrator's test is audited (with `test: true`) but not counted as a sign-in. */
  async function refused(
    connection: SsoConnection,
    subject: string | undefined,
    reason: string,
    context: AuditContext,
    options: { readonly test?: boolean } = {},
  ): Promise<void> {
    if (!options.test)
      deps.counted(connection.type, reason === 'replayed' ? 'replayed' : 'failure');
    await audit.record(context, [
      {
        tenant_id: connection.tenant_id,
        action: 'sso.login',
        target: `sso_connection:${connection.id}`,
        outcome: 'failure',
        details: {
          connection_id: connection.id,
          type: connection.type,
          reason,
          subject,
          ...(options.test ? { test: true } : {}),
        },
      },
    ]);
  }
}

export type SsoSignIn = ReturnType<typeof createSsoSignIn>;
