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
const MfaRequired = Type.Union([Type.Literal('off'), Type.Literal('admins'), Type.Literal('all')], {
  description:
    'Whose sessions need a second factor: nobody (`off`), members holding an administrative permission (`admins`), or everyone (`all`). Covered sessions without one may only enroll one (403 mfa_enrollment_required), and sensitive operations need a recent one (403 step_up_required).',
});
const Settings = Type.Object({
  tenant_id: Type.String(),
  require_verified_email: Type.Boolean({
    description: 'Login refuses members whose email is not verified (403 email_not_verified).',
  }),
  redirect_uris: RedirectUris,
  mfa_required: MfaRequired,
});
const tags = ['tenants'];
// Platform administrators, or tenant:read / tenant:manage in that tenant: the service decides.
const config = { access: 'authenticated' } as const;
const params = Type.Object({ id: TenantIdSchema });

const toJson = (settings: TenantSignIn) => ({
  tenant_id: settings.tenant_id,
  require_verified_email: settings.require_verified_email,
  redirect_uris: [...settings.redirect_uris],
  mfa_required: settings.mfa_required,
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
        summary:
          'How the tenant’s members sign in: verified email, magic link redirects, MFA policy',
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
      // Who must prove a second factor is itself a sensitive setting (issue 18).
      config: { ...config, stepUp: true },
      schema: {
        tags,
        summary: 'Change how the tenant’s members sign in',
        params,
        body: Type.Object(
          {
            require_verified_email: Type.Optional(Type.Boolean()),
            redirect_uris: Type.Optional(RedirectUris),
            mfa_required: Type.Optional(MfaRequired),
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
