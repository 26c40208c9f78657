import { validationFailed } from '../../../platform/validation-failed.ts';

/** A verifier's `code`, required for its method: a 400 when absent (malformed, not wrong). */
export function requireCode(code: string | undefined, method: string): string {
  if (typeof code !== 'string' || code.length === 0 || code.length > 64) {
    throw validationFailed([{ path: '/code', message: `is required for method ${method}` }]);
  }
  return code.trim();
}
