/**
 * How a caller tried to authenticate: a password login, a magic link, a passkey
 * sign-in (passwordless), a refresh token, a request's credential, or a second factor
 * (at login or step-up: a TOTP code, a recovery code, a passkey assertion).
 */
export type AuthMethod =
  | 'password'
  | 'magic_link'
  | 'passkey'
  | 'refresh'
  | 'api_key'
  | 'access_token'
  | 'totp'
  | 'recovery_code'
  | 'webauthn';

/** A user's second factors changed: `method` the factor, `change` what happened to it. */
export type FactorMethod = 'totp' | 'recovery_code' | 'webauthn';
export type FactorChange = 'enrolled' | 'removed' | 'regenerated' | 'renamed' | 'reset';

/** `locked`: refused because the account is locked (the caller saw a wrong password or a refused link). */
export type AuthOutcome = 'success' | 'failure' | 'locked';

export interface AuthAttemptListener {
  attempt(method: AuthMethod, outcome: AuthOutcome): void;
  /** An account was locked (by this node). */
  locked(): void;
  /** A factor was enrolled, removed, renamed, its codes regenerated, or an admin reset MFA. */
  factorChanged(method: FactorMethod, change: FactorChange): void;
}

/**
 * Where identity reports authentication attempts and locks, for whoever listens
 * (the app's metrics). Identity is opened before the app and its metrics registry
 * exist, so listeners attach later; with none attached a report costs a loop over
 * an empty set.
 */
export interface AuthAttempts extends AuthAttemptListener {
  /** Returns the function that detaches the listener. */
  listen(listener: AuthAttemptListener): () => void;
}

export function createAuthAttempts(): AuthAttempts {
  const listeners = new Set<AuthAttemptListener>();
  return {
    attempt(method, outcome) {
      for (const listener of listeners) listener.attempt(method, outcome);
    },
    locked() {
      for (const listener of listeners) listener.locked();
    },
    factorChanged(method, change) {
      for (const listener of listeners) listener.factorChanged(method, change);
    },
    listen(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
