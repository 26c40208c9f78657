import type { SignInProof } from '../../sessions/sign-in-proof.ts';

/**
 * What a user-verified passkey proves (RFC 8176 §2): possession of a key, `hwk` when
 * it cannot leave its device, `swk` when it is synced between devices (WebAuthn's
 * `multiDevice`, a key held in software), and `user` for the verification (PIN or
 * biometric) the ceremony required. Two factors in one: the session gets `mfa`.
 */
export function passkeyProof(deviceType: string): SignInProof {
  return { amr: [deviceType === 'multiDevice' ? 'swk' : 'hwk', 'user'], secondFactor: true };
}
