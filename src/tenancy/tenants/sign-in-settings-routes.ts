import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf } from '../../access/actor.ts';
import type { Principal } from '../../access/principal.ts';
import type { TenantSignIn } from '../../identity/tenancy-port.ts';
import type { SignInSettingsService } from './sign-in-settings-service.ts';
import { MAX_BREAK_GLASS, MAX_DEPROVISION_DAYS } from './sso-sign-in-rules.ts';
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
const SsoEnforced = Type.Boolean({
  description:
    'Members sign in only through the tenant’s SSO connections: password, magic link and passkey sign-ins are refused (403 sso_required), except for the break-glass administrators. Turning it on needs an enabled SSO connection (409 sso_not_configured) and at least one break-glass administrator (400 break_glass_required).',
});
const SsoBreakGlass = Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
  maxItems: MAX_BREAK_GLASS,
  uniqueItems: true,
  description:
    'User ids of the break-glass administrators: active members holding the `admin` role (else 400 break_glass_not_admin), who keep every sign-in method while SSO is enforced, so the tenant stays reachable when its identity provider is not. SSO deprovisioning never deactivates them.',
});
const SsoDeprovisionDays = Type.Union(
  [Type.Integer({ minimum: 1, maximum: MAX_DEPROVISION_DAYS }), Type.Null()],
  {
    description:
      'Members who signed in through SSO before and not once in this many days are deactivated; null: never. Members who never signed in through SSO, and the break-glass administrators, are left alone.',
  },
);
const Settings = Type.Object({
  tenant_id: Type.String(),
  require_verified_email: Type.Boolean({
    description: 'Login refuses members whose email is not verified (403 email_not_verified).',
  }),
  redirect_uris: RedirectUris,
  mfa_required: MfaRequired,
  sso_enforced: SsoEnforced,
  sso_break_glass: SsoBreakGlass,
  sso_deprovision_days: SsoDeprovisionDays,
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
  sso_enforced: settings.sso_enforced,
  sso_break_glass: [...settings.sso_break_glass],
  sso_deprovision_days: settings.sso_deprovision_days,
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
          'How the tenant’s members sign in: verified email, magic link redirects, MFA policy, SSO enforcement',
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
            sso_enforced: Type.Optional(SsoEnforced),
            sso_break_glass: Type.Optional(SsoBreakGlass),
            sso_deprovision_days: Type.Optional(SsoDeprovisionDays),
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
