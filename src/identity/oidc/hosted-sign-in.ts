import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../../config/schema.ts';
import type { GuardDeps } from '../guard/guard.ts';
import type { AuthService } from '../login/auth-service.ts';
import type { MagicLinkService } from '../magic-links/magic-link-service.ts';
import type { PasskeyService } from '../mfa/passkeys/passkey-service.ts';
import { relyingPartyOf } from '../mfa/passkeys/relying-party.ts';
import type { SecondStep } from '../mfa/second-step/second-step-service.ts';
import type { TotpService } from '../mfa/totp/totp-service.ts';
import type { PasswordResetByEmail } from '../password-reset/password-reset.ts';
import type { SessionStore } from '../sessions/session-store.ts';
import type { HostedFederation } from './hosted-federation.ts';
import { createInteractionEnrollment } from './interaction-enrollment.ts';
import { createInteractionFlow } from './interaction-flow.ts';
import { interactionMethodRoutes } from './interaction-method-routes.ts';
import { interactionSsoRoutes } from './interaction-sso-routes.ts';
import { interactionRoutes } from './oidc-interaction-routes.ts';
import type { OidcServices } from './oidc-services.ts';
import type { PageBranding } from './pages/hosted-page.ts';

/** The identity services the hosted sign-in drives (services.ts `IdentityServices`). */
export interface HostedSignInIdentity {
  readonly oidc: Pick<OidcServices, 'signIn'>;
  readonly auth: Pick<AuthService, 'login'>;
  readonly mfa: Pick<SecondStep, 'verify'>;
  readonly passkeys: Pick<PasskeyService, 'login' | 'secondFactor'>;
  readonly magicLinks: Pick<MagicLinkService, 'request' | 'preview' | 'use'>;
  readonly passwordReset: Pick<PasswordResetByEmail, 'forgot'>;
  readonly totp: Pick<TotpService, 'enroll' | 'confirm'>;
  readonly sessions: Pick<SessionStore, 'find'>;
  readonly guard: Pick<GuardDeps, 'customRoles' | 'mfa'>;
}

export interface HostedSignInDeps {
  readonly identity: HostedSignInIdentity;
  /** A tenant's look (its email settings' branding). */
  readonly brandingOf: (tenantId: string) => Promise<PageBranding>;
  /** Whether email can leave: the email ways in are offered only then. */
  readonly emailConfigured: boolean;
  /** Single sign-on through tenants' identity providers (the sso domain's), when offered. */
  readonly federation?: HostedFederation | undefined;
}

/**
 * The OpenID Provider's hosted sign-in (issue 19), as pagesPlugin's pages: the
 * password and code routes, and the other methods, over one flow. A method whose
 * configuration is missing (no WebAuthn relying party, no email transport) is not
 * offered on the sign-in page.
 */
export function hostedSignInPages(
  deps: HostedSignInDeps,
  config: Pick<Config, 'server' | 'webauthn'>,
): FastifyPluginAsync[] {
  const { identity } = deps;
  const signIn = identity.oidc.signIn;
  const hasFactor = identity.guard.mfa?.hasFactor;
  if (!hasFactor) throw new Error('the hosted sign-in needs the guard’s MFA policy');
  const enrollment = createInteractionEnrollment({
    sessions: identity.sessions,
    customRoles: identity.guard.customRoles,
    hasFactor,
    totp: identity.totp,
  });
  const flow = createInteractionFlow({
    signIn,
    brandingOf: deps.brandingOf,
    methods: { passkey: relyingPartyOf(config) !== undefined, email: deps.emailConfigured },
    enrollment,
    federation: deps.federation,
  });
  const federation = deps.federation;
  return [
    interactionRoutes({
      signIn,
      flow,
      login: identity.auth.login,
      secondStep: identity.mfa,
    }),
    interactionMethodRoutes({
      signIn,
      flow,
      passkeys: identity.passkeys,
      secondStep: identity.mfa,
      magicLinks: identity.magicLinks,
      passwordReset: identity.passwordReset,
      enrollment,
    }),
    ...(federation ? [interactionSsoRoutes({ signIn, flow, federation })] : []),
  ];
}
