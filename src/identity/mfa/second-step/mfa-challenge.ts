import type { AuditContext } from '../../../access/audit-context.ts';
import type { SignInProof } from '../../sessions/sign-in-proof.ts';
import type { MfaTokenStore } from '../mfa-token-store.ts';
import type { SecondFactorMethod } from '../second-factor.ts';
import type { FactorRegistry } from './factor-registry.ts';

/**
 * What a sign-in answers in place of tokens when the account has a second factor
 * (issue 18, item 4): `POST /auth/mfa/verify` with the token and one of the methods
 * gets the token pair.
 */
export interface MfaChallenge {
  readonly mfa_required: true;
  readonly mfa_token: string;
  readonly methods: SecondFactorMethod[];
  /** Seconds until the mfa_token expires. */
  readonly expires_in: number;
}

/** A first factor proved: who, where the session will start, and how. */
export interface FirstFactorPassed {
  readonly userId: string;
  readonly tenantId: string;
  readonly proof: SignInProof;
}

export interface SecondStepGate {
  /** Whether a sign-in of the user proving `proof` needs a second factor (nothing issued). */
  isDue(userId: string, proof: SignInProof): Promise<boolean>;
  /**
   * The challenge, when the user has a second factor and the first factor was not
   * already multi-factor (a user-verified passkey); undefined: start the session.
   */
  challengeIfDue(
    passed: FirstFactorPassed,
    context: AuditContext,
  ): Promise<MfaChallenge | undefined>;
}

/** A gate for callers built without MFA (tools, tests of other flows): never asks. */
export const NO_SECOND_STEP: SecondStepGate = {
  isDue: async () => false,
  challengeIfDue: async () => undefined,
};

export function createSecondStepGate(deps: {
  readonly registry: FactorRegistry;
  readonly mfaTokens: MfaTokenStore;
  readonly tokenTtlSeconds: number;
}): SecondStepGate {
  return {
    async isDue(userId, proof) {
      return !proof.secondFactor && (await deps.registry.methodsOf(userId)).length > 0;
    },
    async challengeIfDue(passed, context) {
      if (passed.proof.secondFactor) return undefined;
      const methods = await deps.registry.methodsOf(passed.userId);
      if (methods.length === 0) return undefined;
      const issued = await deps.mfaTokens.issue(
        {
          user_id: passed.userId,
          tenant_id: passed.tenantId,
          amr: passed.proof.amr,
          ip: context.ip,
          user_agent: context.user_agent ?? null,
        },
        deps.tokenTtlSeconds * 1000,
      );
      return {
        mfa_required: true,
        mfa_token: issued.token,
        methods,
        expires_in: deps.tokenTtlSeconds,
      };
    },
  };
}
