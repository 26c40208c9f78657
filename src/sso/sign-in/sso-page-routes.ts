import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { auditContextOf } from '../../access/audit-context.ts';
import { sendPage } from '../../http/pages/pages.ts';
import { interactionPath } from '../../identity/oidc/oidc-paths.ts';
import type { TokenSet } from '../../identity/tokens/issue-token-set.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { TestTickets } from '../connections/test-ticket.ts';
import { SsoErrors } from '../errors.ts';
import type { ReturnTarget } from './return-target.ts';
import type { Answered, SsoFlow } from './sso-flow.ts';
import { refusedBody, testReportBody } from './sso-pages.ts';

/** The cookie binding a sign-in to the browser that started it (its digest is on the request). */
export const BROWSER_COOKIE = 'tessera_sso';

/** A SAML response with a few certificates and many groups stays well under this. */
const ACS_BODY_LIMIT = 512 * 1024;
const MAX_PARAM = 2048;

export interface SsoPageDeps {
  readonly flow: SsoFlow;
  readonly tickets: TestTickets;
  readonly secureCookies: boolean;
  readonly requestTtlSeconds: number;
}

function text(fields: unknown, name: string): string | undefined {
  const value = (fields as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_PARAM
    ? value
    : undefined;
}

/** The tokens go in the fragment, which browsers never send to a server (as a magic link's). */
function tokensFragment(tokens: TokenSet): string {
  return new URLSearchParams({
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token,
    token_type: tokens.token_type,
    expires_in: String(tokens.expires_in),
    tenant_id: tokens.tenant_id,
  }).toString();
}

/** A refusal's page, or a rethrow of anything that is not a client error. */
function refusalPage(reply: FastifyReply, error: unknown): FastifyReply {
  if (!(error instanceof TesseraError) || error.status >= 500) throw error;
  reply.header('cache-control', 'no-store');
  return sendPage(
    reply,
    { title: 'Single sign-on did not work', body: refusedBody(error.detail) },
    error.status,
  );
}

/**
 * The browser's single sign-on pages outside /api/v1 (issue 20): start, the OpenID
 * Connect callback, the SAML ACS and SP metadata, and the completion that hands the
 * tokens to the application (or shows an administrator's test report).
 */
export function ssoPages(deps: SsoPageDeps): FastifyPluginAsync {
  const { flow, tickets } = deps;

  function browserSecret(request: FastifyRequest, reply: FastifyReply): string {
    const existing = request.cookies[BROWSER_COOKIE];
    if (existing && /^[A-Za-z0-9_-]{43}$/.test(existing)) return existing;
    const secret = randomBytes(32).toString('base64url');
    // Lax: the IdP sends the browser back with a top-level navigation (a GET for OpenID
    // Connect; for SAML, the ACS's 303 to /sso/complete), which carries Lax cookies.
    reply.setCookie(BROWSER_COOKIE, secret, {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: deps.secureCookies,
      maxAge: deps.requestTtlSeconds,
    });
    return secret;
  }

  async function onward(reply: FastifyReply, answered: Answered) {
    reply.header('cache-control', 'no-store');
    switch (answered.kind) {
      case 'interaction':
        return reply
          .code(303)
          .header('location', `${interactionPath(answered.uid)}/sso/return/${answered.requestId}`)
          .send();
      case 'complete':
        return reply.code(303).header('location', `/sso/complete/${answered.requestId}`).send();
      case 'signed_in':
        return reply
          .code(303)
          .header('location', `${answered.redirect}#${tokensFragment(answered.tokens)}`)
          .send();
    }
  }

  return async (app) => {
    app.get<{ Params: { id: string } }>(
      '/sso/:id/start',
      { schema: { hide: true } },
      async (request, reply) => {
        try {
          const ticket = text(request.query, 'test');
          const redirect = text(request.query, 'redirect_uri');
          let target: ReturnTarget;
          if (ticket !== undefined) {
            if (!tickets.valid(request.params.id, ticket)) {
              throw new TesseraError(
                SsoErrors.sso_request_invalid,
                'This test link has expired; start the test again from the API.',
              );
            }
            target = { kind: 'test' };
          } else if (redirect !== undefined) {
            target = { kind: 'redirect', uri: redirect };
          } else {
            throw new TesseraError(
              SsoErrors.sso_request_invalid,
              'Start single sign-on from the application (it names its redirect_uri).',
            );
          }
          const { url } = await flow.start(
            request.params.id,
            target,
            browserSecret(request, reply),
          );
          return reply.code(303).header('cache-control', 'no-store').header('location', url).send();
        } catch (error) {
          return refusalPage(reply, error);
        }
      },
    );

    app.get<{ Params: { id: string } }>(
      '/sso/oidc/:id/callback',
      { schema: { hide: true } },
      async (request, reply) => {
        try {
          const url = new URL(request.url, flow.urls(request.params.id).oidcRedirectUri);
          return await onward(
            reply,
            await flow.oidcCallback(request.params.id, url, auditContextOf(request)),
          );
        } catch (error) {
          return refusalPage(reply, error);
        }
      },
    );

    app.post<{ Params: { id: string } }>(
      '/sso/saml/:id/acs',
      // A cross-site POST from the IdP: no CSRF token, no cookie; the response's
      // signature and InResponseTo bind it instead.
      { schema: { hide: true }, bodyLimit: ACS_BODY_LIMIT },
      async (request, reply) => {
        try {
          const body = request.body as Record<string, unknown> | undefined;
          const response = body?.SAMLResponse;
          if (typeof response !== 'string' || response.length === 0) {
            throw new TesseraError(
              SsoErrors.sso_response_invalid,
              'The form carries no SAMLResponse.',
            );
          }
          const relay = text(body, 'RelayState');
          return await onward(
            reply,
            await flow.samlAcs(
              request.params.id,
              { SAMLResponse: response, ...(relay === undefined ? {} : { RelayState: relay }) },
              auditContextOf(request),
            ),
          );
        } catch (error) {
          return refusalPage(reply, error);
        }
      },
    );

    app.get<{ Params: { id: string } }>(
      '/sso/saml/:id/metadata',
      { schema: { hide: true } },
      async (request, reply) => {
        const metadata = await flow.samlMetadata(request.params.id);
        if (metadata === undefined) {
          return reply.code(404).type('text/plain').send('No SAML connection has that id.');
        }
        return reply.type('application/samlmetadata+xml').send(metadata);
      },
    );

    app.get<{ Params: { requestId: string } }>(
      '/sso/complete/:requestId',
      { schema: { hide: true } },
      async (request, reply) => {
        try {
          const done = await flow.complete(
            request.params.requestId,
            request.cookies[BROWSER_COOKIE],
            auditContextOf(request),
          );
          if (done.kind === 'test') {
            reply.header('cache-control', 'no-store');
            return sendPage(reply, {
              title: 'Connection test passed',
              body: testReportBody(done.report),
            });
          }
          return await onward(reply, done);
        } catch (error) {
          return refusalPage(reply, error);
        }
      },
    );
  };
}
