import { Counter, type Registry } from 'prom-client';
import type { AuthAttempts, AuthMethod, AuthOutcome } from './auth-attempts.ts';

const METHODS: readonly AuthMethod[] = [
  'password',
  'magic_link',
  'passkey',
  'refresh',
  'api_key',
  'access_token',
  'totp',
  'recovery_code',
  'webauthn',
];
/** Sign-ins and second factors can lock an account; a refresh or a request's credential cannot. */
const LOCKABLE: ReadonlySet<AuthMethod> = new Set([
  'password',
  'magic_link',
  'totp',
  'recovery_code',
  'webauthn',
]);
const OUTCOMES: readonly AuthOutcome[] = ['success', 'failure', 'locked'];

/**
 * `auth_attempts_total{method,outcome}` and `lockouts_total` in `registry`, counted
 * from `attempts`. The guard reports every authenticated request, so the labelled
 * children are bound once here: counting is a map lookup and an addition. Returns
 * the function that stops counting (when the app closes).
 */
export function countAuthAttempts(registry: Registry, attempts: AuthAttempts): () => void {
  const attemptsTotal = new Counter({
    name: 'auth_attempts_total',
    help: 'Authentication attempts, by method (password, magic_link, passkey, refresh, api_key, access_token, and the second factors totp, recovery_code, webauthn) and outcome (success, failure, locked).',
    labelNames: ['method', 'outcome'] as const,
    registers: [registry],
  });
  const lockoutsTotal = new Counter({
    name: 'lockouts_total',
    help: 'Accounts locked after repeated failed logins (by this node).',
    registers: [registry],
  });
  const factorChanges = new Counter({
    name: 'mfa_factor_changes_total',
    help: 'Changes to second factors, by method (totp, recovery_code, webauthn) and change (enrolled, removed, regenerated, renamed, reset).',
    labelNames: ['method', 'change'] as const,
    registers: [registry],
  });
  const children = new Map<string, Counter.Internal>();
  for (const method of METHODS) {
    for (const outcome of OUTCOMES) {
      // `locked` only happens to what a lockout counts; the other series would stay 0 forever.
      if (outcome === 'locked' && !LOCKABLE.has(method)) continue;
      children.set(`${method}:${outcome}`, attemptsTotal.labels(method, outcome));
    }
  }
  return attempts.listen({
    attempt: (method, outcome) => children.get(`${method}:${outcome}`)?.inc(),
    locked: () => lockoutsTotal.inc(),
    factorChanged: (method, change) => factorChanges.labels(method, change).inc(),
  });
}
