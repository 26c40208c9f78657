import { Counter, type Registry } from 'prom-client';
import type { AuthAttempts, AuthMethod, AuthOutcome } from './auth-attempts.ts';

const METHODS: readonly AuthMethod[] = [
  'password',
  'magic_link',
  'refresh',
  'api_key',
  'access_token',
];
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
    help: 'Authentication attempts, by method (password, magic_link, refresh, api_key, access_token) and outcome (success, failure, locked).',
    labelNames: ['method', 'outcome'] as const,
    registers: [registry],
  });
  const lockoutsTotal = new Counter({
    name: 'lockouts_total',
    help: 'Accounts locked after repeated failed logins (by this node).',
    registers: [registry],
  });
  const children = new Map<string, Counter.Internal>();
  for (const method of METHODS) {
    for (const outcome of OUTCOMES) {
      // `locked` only happens to sign-ins (a password or a magic link); the other
      // series would stay 0 forever.
      if (outcome === 'locked' && method !== 'password' && method !== 'magic_link') continue;
      children.set(`${method}:${outcome}`, attemptsTotal.labels(method, outcome));
    }
  }
  return attempts.listen({
    attempt: (method, outcome) => children.get(`${method}:${outcome}`)?.inc(),
    locked: () => lockoutsTotal.inc(),
  });
}
