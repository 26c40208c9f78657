import { toDataURL } from 'qrcode';
import type { Actor } from '../../../access/actor.ts';
import type { Config } from '../../../config/schema.ts';
import type { Mailer } from '../../../email/mailer.ts';
import { TesseraError } from '../../../platform/errors.ts';
import type { AuthAttempts } from '../../../protection/auth-attempts.ts';
import type { AnyKysely, DatabaseBase } from '../../../storage/database.ts';
import { IdentityErrors } from '../../errors.ts';
import type { SessionStore } from '../../sessions/session-store.ts';
import type { SignInProof } from '../../sessions/sign-in-proof.ts';
import type { UserService } from '../../users/user-service.ts';
import { createFactorPresence } from '../factor-presence.ts';
import { MfaErrors } from '../mfa-errors.ts';
import { issueRecoveryCodes } from '../recovery-codes/issue-recovery-codes.ts';
import { createRecoveryCodeStore } from '../recovery-codes/recovery-code-store.ts';
import type { RecordFactorChange } from './factor-change-record.ts';
import {
  factorOwnerOf,
  requireRecentReauthentication,
  requireRecentSecondFactor,
} from './recent-proof.ts';
import { matchingStep, newTotpSecret, otpauthUri } from './totp-codes.ts';
import { openTotpSecret, sealTotpSecret } from './totp-secret.ts';
import { createTotpStore } from './totp-store.ts';

/** A TOTP code proved: RFC 8176 `otp`, a second factor. */
export const TOTP_PROOF: SignInProof = Object.freeze({ amr: ['otp'], secondFactor: true });

export interface TotpEnrollment {
  /** Base32, for typing into an app that cannot scan. */
  readonly secret: string;
  readonly otpauth_uri: string;
  /** The URI as a QR code: `data:image/png;base64,...`. */
  readonly qr_code: string;
}

export interface TotpServiceDeps {
  readonly db: Pick<DatabaseBase, 'transaction' | 'kysely'>;
  readonly masterKey: () => Buffer;
  readonly users: Pick<UserService, 'findById'>;
  readonly sessions: Pick<SessionStore, 'recordProof'>;
  readonly recordChange: RecordFactorChange;
  readonly mailer: Pick<Mailer, 'flush'>;
  readonly attempts: Pick<AuthAttempts, 'factorChanged'>;
  readonly mfa: Pick<Config['mfa'], 'reauthentication_seconds' | 'step_up_seconds' | 'totp_issuer'>;
  /** TOTP steps and how recent a proof is are read on this clock (tests inject one). */
  readonly now: () => number;
}

/** A user's own TOTP factor (issue 18): enroll, confirm with a first code, remove. */
export function createTotpService(deps: TotpServiceDeps) {
  const { db, mfa, now } = deps;
  const totp = createTotpStore(db.kysely);
  const presence = createFactorPresence(db.kysely);

  /**
   * Who already has a factor (a passkey) adds another only by proving it, within
   * `mfa.reauthentication_seconds`: a password alone, or a session older than that
   * factor, must not bind an attacker's authenticator and pass as a second factor.
   */
  async function requireFactorProvedIfAny(actor: Actor, at: number): Promise<void> {
    const userId = actor.principal.userId;
    if (userId !== null && (await presence.hasFactor(userId))) {
      requireRecentSecondFactor(actor.principal, mfa.reauthentication_seconds, at);
    }
  }

  return {
    /**
     * A new pending enrollment (replacing one not yet confirmed): 403
     * `reauthentication_required` without a recent password or factor check, 409
     * `totp_already_enabled` when one is active, 403 `step_up_required` when the user
     * has a passkey this session has not proved lately.
     */
    async enroll(actor: Actor): Promise<TotpEnrollment> {
      const owner = factorOwnerOf(actor.principal, 'enroll a second factor');
      const at = now();
      requireRecentReauthentication(actor.principal, mfa.reauthentication_seconds, at);
      if ((await totp.find(owner.userId))?.confirmed_ms != null) throw alreadyEnabled();
      await requireFactorProvedIfAny(actor, at);
      const user = await deps.users.findById(owner.userId);
      if (!user) throw new TesseraError(IdentityErrors.session_revoked, 'The user is gone.');
      const secret = newTotpSecret();
      const sealed = sealTotpSecret(deps.masterKey(), owner.userId, secret);
      await db.transaction(async (trx: AnyKysely) => {
        if (!(await createTotpStore(trx).startEnrollment(owner.userId, sealed, at))) {
          throw alreadyEnabled();
        }
        // Nothing is active yet, so no email: the confirmation sends it.
        await deps.recordChange(
          trx,
          actor.audit,
          { ...owner, action: 'mfa.totp_enrollment_started', notice: null },
          at,
        );
      });
      const otpauth_uri = otpauthUri(mfa.totp_issuer, user.email, secret);
      return { secret, otpauth_uri, qr_code: await toDataURL(otpauth_uri) };
    },

    /**
     * Activates the pending enrollment with its first code (±1 step): answers ten new
     * recovery codes, shown only here. The session has proved a second factor now, so
     * one that could only enroll becomes a full one.
     */
    async confirm(actor: Actor, code: string): Promise<{ recovery_codes: string[] }> {
      const owner = factorOwnerOf(actor.principal, 'enroll a second factor');
      const pending = await totp.find(owner.userId);
      if (pending?.confirmed_ms != null) throw alreadyEnabled();
      if (!pending) throw notEnabled('No TOTP enrollment awaits confirmation: start one first.');
      const at = now();
      await requireFactorProvedIfAny(actor, at);
      const secret = openTotpSecret(deps.masterKey(), owner.userId, pending.secret);
      const step = await matchingStep(secret, code, at);
      if (step === undefined) {
        await db.transaction((trx: AnyKysely) =>
          deps.recordChange(
            trx,
            actor.audit,
            { ...owner, action: 'mfa.totp_confirm_failed', outcome: 'failure', notice: null },
            at,
          ),
        );
        throw new TesseraError(MfaErrors.mfa_code_invalid, 'That code is not the current one.');
      }
      let codes: string[] | undefined;
      const session = await deps.sessions.recordProof(owner.sessionId, TOTP_PROOF, async (trx) => {
        // The user's row first, as every factor change takes it: no lock-order deadlock.
        await createRecoveryCodeStore(trx).lockUser(owner.userId);
        // The secret the code was checked against: not one a concurrent enrollment put in its place.
        if (!(await createTotpStore(trx).confirm(owner.userId, pending.secret, step, at))) {
          throw notEnabled('The enrollment changed meanwhile: start again.');
        }
        codes = await issueRecoveryCodes(trx, owner.userId, at);
        await deps.recordChange(
          trx,
          actor.audit,
          {
            ...owner,
            action: 'mfa.totp_enrolled',
            notice: 'An authenticator app (TOTP) was added to your account.',
          },
          at,
        );
      });
      if (!session || !codes) {
        throw new TesseraError(IdentityErrors.session_revoked, 'This session has ended.');
      }
      deps.mailer.flush();
      deps.attempts.factorChanged('totp', 'enrolled');
      return { recovery_codes: codes };
    },

    /**
     * Removes the active factor: 403 `step_up_required` without a second-factor check
     * within `mfa.step_up_seconds`. With no factor left, the recovery codes go too.
     */
    async remove(actor: Actor): Promise<void> {
      const owner = factorOwnerOf(actor.principal, 'remove a second factor');
      const at = now();
      requireRecentSecondFactor(actor.principal, mfa.step_up_seconds, at);
      const codesRemoved = await db.transaction(async (trx: AnyKysely) => {
        const codes = createRecoveryCodeStore(trx);
        await codes.lockUser(owner.userId);
        if (!(await createTotpStore(trx).removeConfirmed(owner.userId))) {
          throw notEnabled('You have no active TOTP factor.');
        }
        const lastFactor = !(await createFactorPresence(trx).hasFactor(owner.userId));
        const removed = lastFactor ? await codes.removeAll(owner.userId) : 0;
        await deps.recordChange(
          trx,
          actor.audit,
          {
            ...owner,
            action: 'mfa.totp_removed',
            details: { recovery_codes_removed: removed > 0 },
            notice: 'The authenticator app (TOTP) was removed from your account.',
          },
          at,
        );
        return removed > 0;
      });
      deps.mailer.flush();
      deps.attempts.factorChanged('totp', 'removed');
      if (codesRemoved) deps.attempts.factorChanged('recovery_code', 'removed');
    },
  };
}

export type TotpService = ReturnType<typeof createTotpService>;

const alreadyEnabled = () =>
  new TesseraError(MfaErrors.totp_already_enabled, 'TOTP is already active: remove it first.');
const notEnabled = (detail: string) => new TesseraError(MfaErrors.totp_not_enabled, detail);
