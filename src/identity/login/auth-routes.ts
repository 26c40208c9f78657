import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { auditContextOf } from '../../access/audit-context.ts';
import type { Principal } from '../../access/principal.ts';
import { MfaChallengeSchema } from '../mfa/second-step/mfa-challenge-json.ts';
import type { AuthService } from './auth-service.ts';

export const Email = Type.String({
  minLength: 3,
  maxLength: 254,
  description: 'Compared trimmed and case-insensitively.',
});
const Password = Type.String({ minLength: 1, maxLength: 1024 });
export const TenantId = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' });

/** What a login answers (and accepting an invitation by its link). */
export const TokenSet = Type.Object({
  access_token: Type.String(),
  refresh_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'Seconds until the access token expires.' }),
  tenant_id: Type.String(),
});

/**
 * What a first factor (a password, a magic link) answers: the token pair, or, for an
 * account with a second factor, the challenge `POST /auth/mfa/verify` completes.
 */
export const SignInAnswer = Type.Union([TokenSet, MfaChallengeSchema]);

const UserSchema = Type.Object({
  id: Type.String(),
  email: Type.String(),
  name: Type.Union([Type.String(), Type.Null()]),
  email_verified: Type.Boolean(),
  created_at: Type.String({ format: 'date-time' }),
});

const toUser = (user: {
  id: string;
  email: string;
  name: string | null;
  email_verified: boolean;
  created_ms: number;
}) => ({
  id: user.id,
  email: user.email,
  name: user.name,
  email_verified: user.email_verified,
  created_at: new Date(user.created_ms).toISOString(),
});

const Empty = Type.Null({ description: 'No content.' });

/** `/api/v1/auth`: logins, token refresh, logout, the caller, password, registration. */
export const authRoutes: FastifyPluginAsyncTypebox<{ auth: AuthService }> = async (
  app,
  { auth },
) => {
  const principalOf = (request: { principal: Principal | null }) => request.principal as Principal;

  app.post(
    '/auth/login',
    {
      config: { access: 'public', rateLimitEmail: 'email', rateLimitEmailOnFailure: true },
      schema: {
        tags: ['auth'],
        summary:
          'Log in with email and password; an account with a second factor gets an mfa_token for POST /auth/mfa/verify',
        body: Type.Object(
          { email: Email, password: Password, tenant_id: Type.Optional(TenantId) },
          { additionalProperties: false },
        ),
        response: { 200: SignInAnswer },
      },
    },
    (request) => auth.login(request.body, auditContextOf(request)),
  );

  app.post(
    '/auth/refresh',
    {
      config: { access: 'public' },
      schema: {
        tags: ['auth'],
        summary: 'Exchange a refresh token for new tokens (the old one dies)',
        body: Type.Object(
          { refresh_token: Type.String({ minLength: 1, maxLength: 512 }) },
          { additionalProperties: false },
        ),
        response: { 200: TokenSet },
      },
    },
    (request) => auth.refresh(request.body.refresh_token, auditContextOf(request)),
  );

  app.post(
    '/auth/logout',
    {
      config: { access: 'authenticated' },
      schema: { tags: ['auth'], summary: 'End the session', response: { 204: Empty } },
    },
    async (request, reply) => {
      await auth.logout(principalOf(request), auditContextOf(request));
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/auth/me',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: ['auth'],
        summary: 'The calling user, tenant, roles and permissions',
        response: {
          200: Type.Object({
            user: UserSchema,
            tenant_id: Type.String(),
            roles: Type.Array(Type.String()),
            permissions: Type.Array(Type.String()),
          }),
        },
      },
    },
    async (request) => {
      const me = await auth.me(principalOf(request));
      return {
        ...me,
        user: toUser(me.user),
        roles: [...me.roles],
        permissions: [...me.permissions],
      };
    },
  );

  app.post(
    '/auth/password',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: ['auth'],
        summary: 'Change the password; every other session ends',
        body: Type.Object(
          { current_password: Password, new_password: Password },
          { additionalProperties: false },
        ),
        response: { 204: Empty },
      },
    },
    async (request, reply) => {
      await auth.changePassword(principalOf(request), request.body, auditContextOf(request));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/auth/register',
    {
      config: { access: 'public', rateLimitEmail: 'email' },
      schema: {
        tags: ['auth'],
        summary: 'Create an account (when auth.registration allows)',
        description:
          'The account joins `auth.registration_tenant` with `auth.registration_role`, or gets a tenant of its own on the free plan as its admin (`auth.registration_creates_tenant`, named `tenant_name`), or joins no tenant; a verification email is sent when email is configured. The answer is the same 202 whether or not the address already had an account (its owner is emailed instead, and nothing is created).',
        body: Type.Object(
          {
            email: Email,
            password: Password,
            name: Type.Optional(Type.String({ maxLength: 200 })),
            tenant_name: Type.Optional(
              Type.String({
                minLength: 1,
                maxLength: 200,
                description:
                  'With auth.registration_creates_tenant: the new tenant’s name (default: the address).',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          202: Type.Object(
            { status: Type.Literal('accepted'), email: Type.String() },
            { description: 'Sign in with the address and password (if they were new).' },
          ),
        },
      },
    },
    async (request, reply) =>
      reply.code(202).send(await auth.register(request.body, auditContextOf(request))),
  );
};
