import {
  type AuthenticationResponseJSON,
  verifyAuthenticationResponse,
} from '@simplewebauthn/server';
import { isoBase64URL } from '@simplewebauthn/server/helpers';
import type { AnyKysely } from '../../../storage/database.ts';
import { createPasskeyStore, type Passkey } from './passkey-store.ts';
import type { RelyingParty } from './relying-party.ts';

export type AssertionOutcome =
  | { readonly ok: true; readonly passkey: Passkey }
  | {
      readonly ok: false;
      readonly reason:
        | 'unknown_passkey'
        | 'user_handle_mismatch'
        | 'verification_failed'
        | 'counter_regressed';
      readonly detail: string;
    };

/**
 * Checks an assertion (WebAuthn Level 2 §7.2) whose challenge the caller has already
 * consumed, against the stored passkey it names: origin, RP ID, user presence and
 * verification, signature, and a counter that only grows; then records the use.
 * `userHandle` (the account id the passkey was registered with) must match its owner
 * when sent, and must be sent when `requireUserHandle` (a usernameless login, §7.2
 * step 6). Never throws for a bad response: the caller decides what to answer.
 */
export async function verifyAssertion(
  db: AnyKysely,
  rp: RelyingParty,
  response: AuthenticationResponseJSON,
  challenge: string,
  options: { requireUserHandle: boolean; now: number },
): Promise<AssertionOutcome> {
  const passkeys = createPasskeyStore(db);
  const passkey = await passkeys.find(response.id);
  if (!passkey) return { ok: false, reason: 'unknown_passkey', detail: 'unknown credential' };
  const handle = response.response.userHandle;
  if (handle ? userOf(handle) !== passkey.user_id : options.requireUserHandle) {
    return {
      ok: false,
      reason: 'user_handle_mismatch',
      detail: 'the user handle is not the credential’s owner',
    };
  }
  let verified: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
  try {
    verified = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: [...rp.origins],
      expectedRPID: rp.id,
      credential: {
        id: passkey.id,
        publicKey: isoBase64URL.toBuffer(passkey.public_key),
        counter: passkey.counter,
        transports: passkey.transports,
      },
      requireUserVerification: true,
    });
  } catch (error) {
    const detail = error instanceof Error ? error.message.slice(0, 300) : 'malformed';
    const reason = /counter/i.test(detail) ? 'counter_regressed' : 'verification_failed';
    return { ok: false, reason, detail };
  }
  if (!verified.verified)
    return { ok: false, reason: 'verification_failed', detail: 'not verified' };
  const info = verified.authenticationInfo;
  const recorded = await passkeys.recordUse(passkey.id, {
    counter: info.newCounter,
    backed_up: info.credentialBackedUp,
    at: options.now,
  });
  if (!recorded) {
    return { ok: false, reason: 'counter_regressed', detail: 'the signature counter did not grow' };
  }
  return {
    ok: true,
    passkey: {
      ...passkey,
      counter: info.newCounter,
      backed_up: info.credentialBackedUp,
      last_used_ms: options.now,
    },
  };
}

/** The user handle as registered: the account id's UTF-8 bytes. */
function userOf(handle: string): string | undefined {
  try {
    return isoBase64URL.toUTF8String(handle);
  } catch {
    return undefined;
  }
}
