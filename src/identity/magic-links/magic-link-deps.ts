import type { AuditLog } from '../../audit/audit-log.ts';
import type { Mailer } from '../../email/mailer.ts';
import type { AuthAttempts } from '../../protection/auth-attempts.ts';
import type { LoginLockout } from '../../protection/lockout/login-lockout.ts';
import type { DatabaseBase } from '../../storage/database.ts';
import type { SecondStepGate } from '../mfa/second-step/mfa-challenge.ts';
import type { SessionStore } from '../sessions/session-store.ts';
import type { MembershipsOfUser, SignInOf } from '../tenancy-port.ts';
import type { IssueAccessToken } from '../tokens/issue-token-set.ts';
import type { UserService } from '../users/user-service.ts';

// Apart from magic-link-service.ts, so the flows it wires import their deps without a cycle.

export interface MagicLinkDeps {
  /** Each request's token, email and audit entry commit together. */
  readonly db: Pick<DatabaseBase, 'transaction' | 'kysely'>;
  readonly users: UserService;
  readonly sessions: SessionStore;
  readonly issueAccessToken: IssueAccessToken;
  /** Tenancy's: the tenants a user belongs to, which a link chooses from as a login does. */
  readonly membershipsOf: MembershipsOfUser;
  /** Tenancy's: the tenant's name and the redirect URIs it allows. */
  readonly signInOf: SignInOf;
  readonly mailer: Mailer;
  readonly audit: AuditLog;
  /** `auth.magic_link_ttl_seconds`. */
  readonly ttlSeconds: number;
  /** A locked account gets no link and cannot use one; failed uses count against the IP. */
  readonly lockout?: LoginLockout | undefined;
  /** Told of every use and how it ended (`auth_attempts_total{method="magic_link"}`). */
  readonly attempts?: Pick<AuthAttempts, 'attempt'> | undefined;
  /** Asked once the link is good: an account with a second factor gets an mfa_token, not tokens. */
  readonly secondStep?: SecondStepGate | undefined;
  /** The tokens' clock (tests). */
  readonly now?: (() => number) | undefined;
}

/** The deps with their defaults resolved, as the two flows get them. */
export interface MagicLinkContext
  extends Required<Omit<MagicLinkDeps, 'now' | 'lockout' | 'attempts' | 'secondStep'>> {
  readonly secondStep: SecondStepGate;
  readonly lockout: LoginLockout;
  readonly attempts: Pick<AuthAttempts, 'attempt'>;
  readonly now: (() => number) | undefined;
}
