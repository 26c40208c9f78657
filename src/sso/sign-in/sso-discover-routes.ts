import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { SsoFlow } from './sso-flow.ts';

/**
 * `POST /api/v1/auth/sso/discover`: where an address signs in. Decided by the domain
 * alone (no account is looked up), so the answer says nothing about who has an account.
 */
export const ssoDiscoverRoutes: FastifyPluginAsyncTypebox<{ flow: SsoFlow }> = async (
  app,
  { flow },
) => {
  app.post(
    '/auth/sso/discover',
    {
      config: { access: 'public' },
      schema: {
        tags: ['auth'],
        summary: 'Whether an email address signs in through single sign-on, and where',
        body: Type.Object(
          { email: Type.String({ minLength: 3, maxLength: 320 }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            sso: Type.Boolean(),
            connection_id: Type.Union([Type.String(), Type.Null()]),
            connection_name: Type.Union([Type.String(), Type.Null()]),
            tenant_id: Type.Union([Type.String(), Type.Null()]),
            start_url: Type.Union([
              Type.String({
                description: 'Send the browser here with ?redirect_uri= (one of the tenant’s).',
              }),
              Type.Null(),
            ]),
          }),
        },
      },
    },
    async (request) => {
      const connection = await flow.discover(request.body.email);
      return connection
        ? {
            sso: true,
            connection_id: connection.id,
            connection_name: connection.name,
            tenant_id: connection.tenant_id,
            start_url: flow.urls(connection.id).start,
          }
        : {
            sso: false,
            connection_id: null,
            connection_name: null,
            tenant_id: null,
            start_url: null,
          };
    },
  );
};
