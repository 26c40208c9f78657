import { NO_LOCKOUT } from '../../protection/lockout/login-lockout.ts';
import { NO_SECOND_STEP } from '../mfa/second-step/mfa-challenge.ts';
import type { MagicLinkContext, MagicLinkDeps } from './magic-link-deps.ts';
import { createRequestMagicLink } from './request-magic-link.ts';
import { createUseMagicLink } from './use-magic-link.ts';

export type { MagicLinkDeps } from './magic-link-deps.ts';
export type { MagicLinkContinuation, MagicLinkRequest } from './request-magic-link.ts';
export type { MagicLinkPreview, MagicLinkSignIn } from './use-magic-link.ts';

/**
 * Passwordless sign-in by email (issue 17): `request` sends a single-use link,
 * `use` signs in with it (the API, or the link's page after `preview`). Each flow is
 * in its own file: request-magic-link.ts and use-magic-link.ts.
 */
export function createMagicLinks(deps: MagicLinkDeps) {
  const context: MagicLinkContext = {
    ...deps,
    lockout: deps.lockout ?? NO_LOCKOUT,
    attempts: deps.attempts ?? { attempt: () => {} },
    secondStep: deps.secondStep ?? NO_SECOND_STEP,
    now: deps.now,
  };
  const { preview, use } = createUseMagicLink(context);
  return { request: createRequestMagicLink(context), preview, use };
}

export type MagicLinkService = ReturnType<typeof createMagicLinks>;
