import { createManagePasskeys } from './manage-passkeys.ts';
import type { PasskeyDeps } from './passkey-deps.ts';
import { createPasskeyLogin } from './passkey-login.ts';
import { createRegisterPasskey } from './register-passkey.ts';
import { createWebauthnFactor } from './webauthn-factor.ts';

export type { PasskeyDeps } from './passkey-deps.ts';
export { type RelyingParty, relyingPartyOf } from './relying-party.ts';

/**
 * Passkeys (issue 18, WebAuthn Level 2 with @simplewebauthn/server): registration,
 * the owner's list, rename and removal, the passwordless usernameless sign-in, and a
 * passkey as a second factor. Each flow is in its own file.
 */
export function createPasskeys(deps: PasskeyDeps) {
  const factor = createWebauthnFactor(deps);
  return {
    registration: createRegisterPasskey(deps),
    manage: createManagePasskeys(deps),
    login: createPasskeyLogin(deps),
    secondFactor: { loginOptions: factor.loginOptions, stepUpOptions: factor.stepUpOptions },
    /** The `webauthn` method of the login's second step and of step-up. */
    verifier: factor.verifier,
  };
}

export type PasskeyService = ReturnType<typeof createPasskeys>;
