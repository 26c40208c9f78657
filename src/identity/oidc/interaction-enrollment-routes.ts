import type { FastifyPluginAsync } from 'fastify';
import { auditContextOf } from '../../access/audit-context.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { InteractionEnrollment } from './interaction-enrollment.ts';
import { expired, field, type InteractionFlow, pageOfError, raw } from './interaction-flow.ts';
import { INTERACTION_PREFIX } from './oidc-paths.ts';
import type { OidcSignIn } from './oidc-sign-in.ts';
import { enrollTotpBody, recoveryCodesBody } from './pages/method-pages.ts';

export interface InteractionEnrollmentOptions {
  readonly signIn: OidcSignIn;
  readonly flow: InteractionFlow;
  readonly enrollment: InteractionEnrollment;
}

/**
 * The enrollment page's form (interaction-flow.ts shows the page when the tenant's
 * policy asks for a factor the user lacks): its first code turns the factor on and
 * marks the session, then the recovery codes are shown once, with a Continue link
 * back to the request, which now finishes.
 */
export function interactionEnrollmentRoutes(
  options: InteractionEnrollmentOptions,
): FastifyPluginAsync {
  const { signIn, flow } = options;
  return async (app) => {
    const posted = { schema: { hide: true }, preHandler: app.csrfProtection } as const;

    app.post(`${INTERACTION_PREFIX}/:uid/enroll`, posted, async (request, reply) => {
      let sessionId: string;
      try {
        const { pending } = await signIn.load(raw(request, reply));
        if (!pending) return await flow.answer(request, reply, { step: 'sign_in' });
        sessionId = pending.session_id;
      } catch (error) {
        return expired(reply, pageOfError(error));
      }
      const code = (field(request, 'code') ?? '').replaceAll(/\s/g, '');
      try {
        const codes = await options.enrollment.confirm(sessionId, code, auditContextOf(request));
        return await flow.page(request, reply, 'Save your recovery codes', (base) =>
          recoveryCodesBody(base, codes),
        );
      } catch (error) {
        const refused = pageOfError(error);
        if (!(refused instanceof TesseraError)) return expired(reply, refused);
        return flow.page(
          request,
          reply,
          'Set up two-step verification',
          (base, csrf) => enrollTotpBody({ base, csrf, error: refused.detail }),
          refused.status,
        );
      }
    });
  };
}
