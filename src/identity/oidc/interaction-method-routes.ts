import type { FastifyPluginAsync } from 'fastify';
import type { MagicLinkService } from '../magic-links/magic-link-service.ts';
import type { PasskeyService } from '../mfa/passkeys/passkey-service.ts';
import type { SecondStep } from '../mfa/second-step/second-step-service.ts';
import type { PasswordResetByEmail } from '../password-reset/password-reset.ts';
import { interactionEmailRoutes } from './interaction-email-routes.ts';
import type { InteractionEnrollment } from './interaction-enrollment.ts';
import { interactionEnrollmentRoutes } from './interaction-enrollment-routes.ts';
import type { InteractionFlow } from './interaction-flow.ts';
import { interactionPasskeyRoutes } from './interaction-passkey-routes.ts';
import type { OidcSignIn } from './oidc-sign-in.ts';

export interface InteractionMethodOptions {
  readonly signIn: OidcSignIn;
  readonly flow: InteractionFlow;
  readonly passkeys: Pick<PasskeyService, 'login' | 'secondFactor'>;
  readonly secondStep: Pick<SecondStep, 'verify'>;
  readonly magicLinks: Pick<MagicLinkService, 'request' | 'preview' | 'use'>;
  readonly passwordReset: Pick<PasswordResetByEmail, 'forgot'>;
  readonly enrollment: InteractionEnrollment;
}

/**
 * The hosted sign-in's other methods (issue 19), beside the password and code of
 * oidc-interaction-routes.ts: a passkey, a magic link, a forgotten password, and the
 * TOTP enrollment a tenant's MFA policy asks for. docs/oidc.md (Sign-in methods) describes them.
 */
export function interactionMethodRoutes(options: InteractionMethodOptions): FastifyPluginAsync {
  return async (app) => {
    await app.register(interactionPasskeyRoutes(options));
    await app.register(interactionEmailRoutes(options));
    await app.register(interactionEnrollmentRoutes(options));
  };
}
