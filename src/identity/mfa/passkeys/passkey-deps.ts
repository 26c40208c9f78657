import type { AuditLog } from '../../../audit/audit-log.ts';
import type { Mailer } from '../../../email/mailer.ts';
import type { AuthAttempts } from '../../../protection/auth-attempts.ts';
import type { LoginLockout } from '../../../protection/lockout/login-lockout.ts';
import type { DatabaseBase } from '../../../storage/database.ts';
import type { SessionStore } from '../../sessions/session-store.ts';
import type { MembershipsOfUser, SignInOf } from '../../tenancy-port.ts';
import type { IssueAccessToken } from '../../tokens/issue-token-set.ts';
import type { UserService } from '../../users/user-service.ts';
import type { RelyingParty } from './relying-party.ts';

// Apart from passkey-service.ts, so the flows it wires import their deps without a cycle.

export interface PasskeyDeps {
  /** Each change, its audit entry and its email commit together. */
  readonly db: Pick<DatabaseBase, 'transaction' | 'kysely'>;
  /** Undefined: passkeys are not configured and every passkey route says so (relying-party.ts). */
  readonly relyingParty: RelyingParty | undefined;
  readonly users: UserService;
  readonly sessions: SessionStore;
  readonly issueAccessToken: IssueAccessToken;
  /** Tenancy's: where a passwordless sign-in may land. */
  readonly membershipsOf: MembershipsOfUser;
  /** Tenancy's: whether the tenant requires a verified email address. */
  readonly signInOf: SignInOf;
  readonly mailer: Pick<Mailer, 'queueIn' | 'flush'>;
  readonly audit: AuditLog;
  readonly lockout: LoginLockout;
  readonly attempts: Pick<AuthAttempts, 'attempt' | 'factorChanged'>;
  /** `webauthn.challenge_ttl_seconds`, `mfa.reauthentication_seconds`, `mfa.step_up_seconds`. */
  readonly challengeTtlSeconds: number;
  readonly reauthenticationSeconds: number;
  readonly stepUpSeconds: number;
  readonly now: () => number;
}

/** At most this many passkeys per user: enough for every device, not a storage sink. */
export const MAX_PASSKEYS_PER_USER = 20;
