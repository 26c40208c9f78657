import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf } from '../../access/actor.ts';
import type { Principal } from '../../access/principal.ts';
import type { TenantSignIn } from '../../identity/tenancy-port.ts';
import type { SignInSettingsService } from './sign-in-settings-service.ts';
import { TenantIdSchema } from './tenant-json.ts';

const RedirectUris = Type.Array(Type.String({ minLength: 1, maxLength: 2000 }), {
  maxItems: 20,
  description:
    'Exact URLs a magic link may return its user to (https, or http on localhost; no fragment). The first is used when a request names none.',
});
const Settings = Type.Object({
  tenant_id: Type.String(),
  require_verified_email: Type.Boolean({
    description: 'Login refuses members whose email is not verified (403 email_not_verified).',
  }),
  redirect_uris: RedirectUris,
});
const tags = ['tenants'];
// Platform administrators, or tenant:read / tenant:manage in that tenant: the service decides.
const config = { access: 'authenticated' } as const;
const params = Type.Object({ id: TenantIdSchema });

const toJson = (settings: TenantSignIn) => ({
  tenant_id: settings.tenant_id,
  require_verified_email: settings.require_verified_email,
  redirect_uris: [...settings.redirect_uris],
});

/** `/api/v1/tenants/{id}/sign-in-settings`: how the tenant's members may sign in. */
export const signInSettingsRoutes: FastifyPluginAsyncTypebox<{
  settings: SignInSettingsService;
}> = async (app, { settings }) => {
  app.get(
    '/tenants/:id/sign-in-settings',
    {
      config,
      schema: {
        tags,
        summary: 'How the tenant’s members sign in: verified email, magic link redirects',
        params,
        response: { 200: Settings },
      },
    },
    async (request) =>
      toJson(await settings.get(request.principal as Principal, request.params.id)),
  );

  app.patch(
    '/tenants/:id/sign-in-settings',
    {
      config,
      schema: {
        tags,
        summary: 'Change how the tenant’s members sign in',
        params,
        body: Type.Object(
          {
            require_verified_email: Type.Optional(Type.Boolean()),
            redirect_uris: Type.Optional(RedirectUris),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: Settings },
      },
    },
    async (request) =>
      toJson(await settings.update(actorOf(request), request.params.id, request.body)),
  );
};
