/**
 * How a caller tried to authenticate: a password login, a magic link, a refresh token,
 * or a request's credential.
 */
export type AuthMethod = 'password' | 'magic_link' | 'refresh' | 'api_key' | 'access_token';

/** `locked`: refused because the account is locked (the caller saw a wrong password or a refused link). */
export type AuthOutcome = 'success' | 'failure' | 'locked';

export interface AuthAttemptListener {
  attempt(method: AuthMethod, outcome: AuthOutcome): void;
  /** An account was locked (by this node). */
  locked(): void;
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
    listen(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
