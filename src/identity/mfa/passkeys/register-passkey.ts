import {
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type RegistrationResponseJSON,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import { isoBase64URL } from '@simplewebauthn/server/helpers';
import type { AuditContext } from '../../../access/audit-context.ts';
import { TesseraError } from '../../../platform/errors.ts';
import type { AnyKysely } from '../../../storage/database.ts';
import { isUniqueViolation } from '../../../storage/unique-violation.ts';
import { IdentityErrors } from '../../errors.ts';
import { createFactorPresence } from '../factor-presence.ts';
import { mfaChangedNotice } from '../mfa-changed-notice.ts';
import { MfaErrors } from '../mfa-errors.ts';
import { createChallengeStore } from './challenge-store.ts';
import { passkeyEntry } from './passkey-audit.ts';
import { MAX_PASSKEYS_PER_USER, type PasskeyDeps } from './passkey-deps.ts';
import { passkeyProof } from './passkey-proof.ts';
import { createPasskeyStore, type Passkey } from './passkey-store.ts';
import { passkeysOff, type RelyingParty } from './relying-party.ts';
import {
  requireRecentProof,
  requireRecentSecondFactor,
  type SessionCaller,
} from './session-caller.ts';
import { challengeInvalid, challengeOf, verificationFailed } from './webauthn-json.ts';

/**
 * Registering a passkey (WebAuthn Level 2 §7.1) in a signed-in session that proved a
 * password or factor recently. Discoverable (resident key required) so it also signs
 * in without an email typed; user verification required so it counts as two factors.
 */
export function createRegisterPasskey(deps: PasskeyDeps) {
  const { db, users, now } = deps;
  const challenges = createChallengeStore(db.kysely, now);
  const passkeys = createPasskeyStore(db.kysely);
  const presence = createFactorPresence(db.kysely);

  /**
   * A recent password or factor check; and who already has a factor (TOTP, a passkey)
   * adds another only by proving one lately: a password alone, or a session older
   * than that factor, must not bind an attacker's authenticator (as for TOTP).
   */
  async function requireProofs(caller: SessionCaller, at: number): Promise<void> {
    requireRecentProof(caller, deps.reauthenticationSeconds, at);
    if (await presence.hasFactor(caller.userId)) {
      requireRecentSecondFactor(
        caller,
        deps.reauthenticationSeconds,
        at,
        'Adding a passkey beside your other factors',
      );
    }
  }

  function relyingParty(): RelyingParty {
    if (!deps.relyingParty) throw passkeysOff();
    return deps.relyingParty;
  }

  async function owner(userId: string) {
    const user = await users.findById(userId);
    if (!user)
      throw new TesseraError(IdentityErrors.session_revoked, 'This account no longer exists.');
    return user;
  }

  return {
    async options(caller: SessionCaller): Promise<PublicKeyCredentialCreationOptionsJSON> {
      const rp = relyingParty();
      await requireProofs(caller, now());
      const user = await owner(caller.userId);
      const existing = await passkeys.listOfUser(user.id);
      if (existing.length >= MAX_PASSKEYS_PER_USER) throw limitReached();
      const options = await generateRegistrationOptions({
        rpName: rp.name,
        rpID: rp.id,
        userName: user.email,
        userDisplayName: user.name ?? user.email,
        // The user handle (WebAuthn §14.6.1: no personal data): the account's id, so an
        // authenticator replaces rather than duplicates this account's passkey.
        userID: isoBase64URL.toBuffer(isoBase64URL.fromUTF8String(user.id)),
        attestationType: 'none',
        excludeCredentials: existing.map((p) => ({ id: p.id, transports: p.transports })),
        authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
        supportedAlgorithmIDs: [...SIGNATURE_ALGORITHMS],
        timeout: deps.challengeTtlSeconds * 1000,
      });
      await challenges.issue(
        options.challenge,
        { purpose: 'register', userId: user.id, sessionId: caller.sessionId },
        deps.challengeTtlSeconds * 1000,
      );
      return options;
    },

    async verify(
      caller: SessionCaller,
      input: { response: RegistrationResponseJSON; name?: string | undefined },
      context: AuditContext,
    ): Promise<Passkey> {
      const rp = relyingParty();
      const at = now();
      await requireProofs(caller, at);
      const challenge = challengeOf(input.response.response.clientDataJSON);
      const binding = {
        purpose: 'register',
        userId: caller.userId,
        sessionId: caller.sessionId,
      } as const;
      if (!(await challenges.consume(challenge, binding))) throw challengeInvalid();
      let verified: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
      try {
        verified = await verifyRegistrationResponse({
          response: input.response,
          expectedChallenge: challenge,
          expectedOrigin: [...rp.origins],
          expectedRPID: rp.id,
          requireUserVerification: true,
          supportedAlgorithmIDs: [...SIGNATURE_ALGORITHMS],
        });
      } catch (error) {
        throw verificationFailed(error instanceof Error ? error.message : 'malformed');
      }
      if (!verified.verified) throw verificationFailed('not verified');
      const info = verified.registrationInfo;
      const user = await owner(caller.userId);
      const passkey: Passkey = {
        id: info.credential.id,
        user_id: user.id,
        tenant_id: caller.tenantId,
        name: input.name?.trim() || defaultName(info.credentialDeviceType),
        public_key: isoBase64URL.fromBuffer(info.credential.publicKey),
        counter: info.credential.counter,
        transports: input.response.response.transports ?? [],
        device_type: info.credentialDeviceType,
        backed_up: info.credentialBackedUp,
        aaguid: info.aaguid,
        created_ms: at,
        last_used_ms: null,
      };
      // One transaction: the passkey, the session's proof of possession (an
      // enrollment-only session becomes a full one), the audit entry and the email.
      const recorded = await deps.sessions
        .recordProof(caller.sessionId, passkeyProof(passkey.device_type), async (trx) => {
          await store(trx, passkey);
          await deps.audit.inTransaction(trx, context, [
            passkeyEntry(caller.tenantId, 'registered', passkey),
          ]);
          await deps.mailer.queueIn(
            trx,
            mfaChangedNotice(
              user,
              caller.tenantId,
              `A passkey, “${passkey.name}”, was added to your account.`,
              context.ip,
              at,
            ),
          );
        })
        .catch((error: unknown) => {
          if (isUniqueViolation(error)) throw passkeyExists();
          throw error;
        });
      if (!recorded)
        throw new TesseraError(IdentityErrors.session_revoked, 'This session has ended.');
      deps.mailer.flush();
      deps.attempts.factorChanged('webauthn', 'enrolled');
      return passkey;
    },
  };
}

/** Inserts unless the user is at the limit (counted in the same transaction). */
async function store(trx: AnyKysely, passkey: Passkey): Promise<void> {
  const passkeys = createPasskeyStore(trx);
  if ((await passkeys.find(passkey.id)) !== undefined) throw passkeyExists();
  if ((await passkeys.countOfUser(passkey.user_id)) >= MAX_PASSKEYS_PER_USER) throw limitReached();
  await passkeys.insert(passkey);
}

/**
 * COSE algorithms (RFC 9053) a passkey may use: Ed25519, ES256, RS256. Not ML-DSA,
 * which the library offers first when the runtime has it: Node's ML-DSA is still
 * experimental, and every authenticator has one of these.
 */
const SIGNATURE_ALGORITHMS = [-8, -7, -257] as const;

function defaultName(deviceType: string): string {
  return deviceType === 'multiDevice' ? 'Synced passkey' : 'Security key';
}

const passkeyExists = () =>
  new TesseraError(MfaErrors.passkey_exists, 'This passkey is registered already.');

const limitReached = () =>
  new TesseraError(
    MfaErrors.passkey_limit_reached,
    `An account holds at most ${MAX_PASSKEYS_PER_USER} passkeys: remove one first.`,
  );
