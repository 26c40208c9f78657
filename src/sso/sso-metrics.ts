import { Counter, type Registry } from 'prom-client';

type Listener = (type: string, outcome: string) => void;

/** Sign-ins through SSO as they end, for whoever counts them (the app's metrics). */
export function createSsoLogins() {
  const listeners = new Set<Listener>();
  return {
    count(type: string, outcome: string): void {
      for (const listener of listeners) listener(type, outcome);
    },
    /** Returns the function that stops listening. */
    listen(listener: Listener): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export type SsoLogins = ReturnType<typeof createSsoLogins>;

/** `sso_logins_total{type,outcome}` in `registry`; returns the function that stops counting. */
export function countSsoLogins(registry: Registry, logins: SsoLogins): () => void {
  const total = new Counter({
    name: 'sso_logins_total',
    help: 'Sign-ins through single sign-on, by connection type (oidc, saml) and outcome (success, failure, replayed).',
    labelNames: ['type', 'outcome'] as const,
    registers: [registry],
  });
  return logins.listen((type, outcome) => total.labels(type, outcome).inc());
}
