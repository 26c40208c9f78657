import type { FastifyPluginAsync } from 'fastify';
import { auditContextOf } from '../../access/audit-context.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { HostedFederation } from './hosted-federation.ts';
import { expired, field, type InteractionFlow, pageOfError, raw } from './interaction-flow.ts';
import { INTERACTION_PREFIX } from './oidc-paths.ts';
import type { OidcSignIn } from './oidc-sign-in.ts';
import { ssoContinueBody, ssoEmailBody } from './pages/sso-pages.ts';

export interface InteractionSsoOptions {
  readonly signIn: OidcSignIn;
  readonly flow: InteractionFlow;
  readonly federation: HostedFederation;
}

const MAX_ID = 64;

/**
 * Single sign-on from the hosted pages (issue 20): find the IdP by address, go to it,
 * and come back into the same authorization request, whose cookie (set for this path
 * alone) proves the browser returning is the one that left.
 */
export function interactionSsoRoutes(options: InteractionSsoOptions): FastifyPluginAsync {
  const { signIn, flow, federation } = options;
  return async (app) => {
    const routes = { schema: { hide: true } } as const;
    const posted = { schema: { hide: true }, preHandler: app.csrfProtection } as const;

    app.get(`${INTERACTION_PREFIX}/:uid/sso`, routes, async (request, reply) => {
      try {
        return await flow.page(request, reply, 'Single sign-on', (base, csrf) =>
          ssoEmailBody({ base, csrf }),
        );
      } catch (error) {
        return expired(reply, pageOfError(error));
      }
    });

    app.post(`${INTERACTION_PREFIX}/:uid/sso`, posted, async (request, reply) => {
      const email = field(request, 'email', 320) ?? '';
      try {
        const { client } = await signIn.load(raw(request, reply));
        const found = await federation.discover(email);
        const usable = found && (client.tenant_choice || found.tenant_id === client.tenant_id);
        if (!found || !usable) {
          return await flow.page(
            request,
            reply,
            'Single sign-on',
            (base, csrf) =>
              ssoEmailBody({
                base,
                csrf,
                email,
                error: `Single sign-on is not set up for this address${found ? ` in ${client.name}` : ''}. Sign in another way.`,
              }),
            400,
          );
        }
        return await flow.page(request, reply, 'Single sign-on', (base) =>
          ssoContinueBody(base, found),
        );
      } catch (error) {
        return expired(reply, pageOfError(error));
      }
    });

    app.get<{ Params: { uid: string; connectionId: string } }>(
      `${INTERACTION_PREFIX}/:uid/sso/go/:connectionId`,
      routes,
      async (request, reply) => {
        try {
          const { interaction, client } = await signIn.load(raw(request, reply));
          const connectionId = request.params.connectionId.slice(0, MAX_ID);
          const url = await federation.begin(
            interaction.uid,
            connectionId,
            client.tenant_choice ? undefined : client.tenant_id,
          );
          return reply.code(303).header('cache-control', 'no-store').header('location', url).send();
        } catch (error) {
          const refused = pageOfError(error);
          if (refused instanceof TesseraError) {
            return flow.answer(request, reply, { step: 'sign_in' }, { error: refused.detail });
          }
          return expired(reply, refused);
        }
      },
    );

    app.get<{ Params: { uid: string; requestId: string } }>(
      `${INTERACTION_PREFIX}/:uid/sso/return/:requestId`,
      routes,
      async (request, reply) => {
        try {
          const { interaction } = await signIn.load(raw(request, reply));
          const tokens = await federation.finish(
            request.params.requestId.slice(0, MAX_ID),
            interaction.uid,
            auditContextOf(request),
          );
          return await flow.signedIn(request, reply, tokens);
        } catch (error) {
          const refused = pageOfError(error);
          if (refused instanceof TesseraError) {
            return flow.answer(request, reply, { step: 'sign_in' }, { error: refused.detail });
          }
          return expired(reply, refused);
        }
      },
    );
  };
}
