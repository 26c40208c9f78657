import {
  generateAuthenticationOptions,
  type PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/server';
import { TesseraError } from '../../../platform/errors.ts';
import { MfaErrors } from '../mfa-errors.ts';
import { createMfaTokenStore } from '../mfa-token-store.ts';
import type { FactorAttempt, SecondFactorVerifier } from '../second-factor.ts';
import { type ChallengeBinding, createChallengeStore } from './challenge-store.ts';
import type { PasskeyDeps } from './passkey-deps.ts';
import { passkeyProof } from './passkey-proof.ts';
import { createPasskeyStore } from './passkey-store.ts';
import { passkeysOff } from './relying-party.ts';
import type { SessionCaller } from './session-caller.ts';
import { verifyAssertion } from './verify-assertion.ts';
import { authenticationResponseOf, challengeOf } from './webauthn-json.ts';

/**
 * A passkey as a second factor: the options of a login's second step (bound to its
 * mfa_token) or of a session's step-up (bound to the session), and the verifier the
 * second step and step-up hand a `webauthn` proof to (second-factor.ts).
 */
export function createWebauthnFactor(deps: PasskeyDeps) {
  const { db, now } = deps;
  const challenges = createChallengeStore(db.kysely, now);
  const passkeys = createPasskeyStore(db.kysely);
  const mfaTokens = createMfaTokenStore(db.kysely, now);

  async function optionsFor(
    userId: string,
    binding: ChallengeBinding,
  ): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const rp = deps.relyingParty;
    if (!rp) throw passkeysOff();
    const owned = await passkeys.listOfUser(userId);
    if (owned.length === 0) {
      throw new TesseraError(MfaErrors.mfa_method_unavailable, 'This account has no passkey.');
    }
    const options = await generateAuthenticationOptions({
      rpID: rp.id,
      allowCredentials: owned.map((p) => ({ id: p.id, transports: p.transports })),
      userVerification: 'required',
      timeout: deps.challengeTtlSeconds * 1000,
    });
    await challenges.issue(options.challenge, binding, deps.challengeTtlSeconds * 1000);
    return options;
  }

  const verifier: SecondFactorVerifier = {
    method: 'webauthn',
    enabledFor: async (userId) =>
      deps.relyingParty !== undefined && (await passkeys.countOfUser(userId)) > 0,
    async verify(attempt: FactorAttempt) {
      const rp = deps.relyingParty;
      if (!rp) return { ok: false, reason: 'not_configured' };
      const response = authenticationResponseOf(attempt.response);
      const challenge = challengeOf(response.response.clientDataJSON);
      const binding: ChallengeBinding =
        attempt.binding.kind === 'login'
          ? {
              purpose: 'second_factor',
              userId: attempt.userId,
              mfaTokenDigest: attempt.binding.mfaTokenDigest,
            }
          : {
              purpose: 'second_factor',
              userId: attempt.userId,
              sessionId: attempt.binding.sessionId,
            };
      if (!(await challenges.consume(challenge, binding)))
        return { ok: false, reason: 'challenge_invalid' };
      const owned = await passkeys.find(response.id);
      // Someone else's passkey is no proof for this user, however well it verifies.
      if (!owned || owned.user_id !== attempt.userId)
        return { ok: false, reason: 'unknown_passkey' };
      const checked = await verifyAssertion(db.kysely, rp, response, challenge, {
        requireUserHandle: false,
        now: now(),
      });
      if (!checked.ok) return { ok: false, reason: checked.reason };
      return {
        ok: true,
        proof: passkeyProof(checked.passkey.device_type),
        detail: { credential_id: checked.passkey.id },
      };
    },
  };

  return {
    verifier,

    /** `POST /auth/mfa/webauthn/options {mfa_token}`: the token is only looked at, not spent. */
    async loginOptions(mfaToken: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
      const peeked = await mfaTokens.peek(mfaToken);
      if (!peeked.ok) {
        throw new TesseraError(
          MfaErrors.mfa_token_invalid,
          'This mfa_token is unknown, used or expired: log in again.',
        );
      }
      const { grant } = peeked;
      return optionsFor(grant.user_id, {
        purpose: 'second_factor',
        userId: grant.user_id,
        mfaTokenDigest: grant.digest,
      });
    },

    /** `POST /auth/mfa/webauthn/step-up-options`: for this session's step-up. */
    stepUpOptions: (caller: SessionCaller) =>
      optionsFor(caller.userId, {
        purpose: 'second_factor',
        userId: caller.userId,
        sessionId: caller.sessionId,
      }),
  };
}
