import { TesseraError } from '../../../platform/errors.ts';
import { MfaErrors } from '../mfa-errors.ts';
import type { SecondFactorMethod, SecondFactorVerifier } from '../second-factor.ts';

/**
 * The second factors this server has (TOTP, recovery codes, passkeys), by method: what
 * a login's second step and step-up dispatch to, and what tells a user which methods
 * they can use. Built once by the composition root from every factor's verifier.
 */
export interface FactorRegistry {
  /** The methods the user has ready, in the registry's order (e.g. `["totp", "recovery_code"]`). */
  methodsOf(userId: string): Promise<SecondFactorMethod[]>;
  /** The verifier of a method the user has; `400 mfa_method_unavailable` otherwise. */
  verifierFor(userId: string, method: string): Promise<SecondFactorVerifier>;
}

export function createFactorRegistry(verifiers: readonly SecondFactorVerifier[]): FactorRegistry {
  const byMethod = new Map(verifiers.map((verifier) => [verifier.method as string, verifier]));

  async function methodsOf(userId: string): Promise<SecondFactorMethod[]> {
    const ready = await Promise.all(verifiers.map((verifier) => verifier.enabledFor(userId)));
    return verifiers.filter((_, index) => ready[index]).map((verifier) => verifier.method);
  }

  return {
    methodsOf,
    async verifierFor(userId, method) {
      const verifier = byMethod.get(method);
      if (verifier && (await verifier.enabledFor(userId))) return verifier;
      const available = await methodsOf(userId);
      throw new TesseraError(
        MfaErrors.mfa_method_unavailable,
        `The method ${JSON.stringify(method)} is not one you have set up; yours: ${available.join(', ') || 'none'}.`,
        { extensions: { methods: available } },
      );
    },
  };
}
