import type { FastifyReply, FastifyRequest } from 'fastify';
import { auditContextOf } from '../../access/audit-context.ts';
import type { SafeHtml } from '../../http/pages/html.ts';
import { pageCsp } from '../../http/pages/pages.ts';
import { TesseraError } from '../../platform/errors.ts';
import { SECOND_FACTOR_METHODS, type SecondFactorMethod } from '../mfa/second-factor.ts';
import type { MfaChallenge } from '../mfa/second-step/mfa-challenge.ts';
import type { TokenSet } from '../tokens/issue-token-set.ts';
import type { HostedFederation, OfferedConnection } from './hosted-federation.ts';
import type { InteractionEnrollment } from './interaction-enrollment.ts';
import { interactionPath } from './oidc-paths.ts';
import type { NextStep, OidcSignIn } from './oidc-sign-in.ts';
import { type PageBranding, renderHostedPage } from './pages/hosted-page.ts';
import { enrollTotpBody, type OtherMethods } from './pages/method-pages.ts';
import { PASSKEY_SCRIPT } from './pages/passkey-script.ts';
import {
  consentBody,
  messageBody,
  secondFactorBody,
  signInBody,
  tenantBody,
} from './pages/sign-in-pages.ts';

export interface InteractionFlowOptions {
  readonly signIn: OidcSignIn;
  /** A tenant's branding (its email settings), default Tessera's. */
  readonly brandingOf: (tenantId: string) => Promise<PageBranding>;
  /** The other ways in the sign-in page offers. */
  readonly methods: OtherMethods;
  /** The TOTP enrollment a tenant's MFA policy asks of a user with no factor. */
  readonly enrollment: InteractionEnrollment;
  /** Single sign-on (the sso domain's), when offered. */
  readonly federation?: HostedFederation | undefined;
}

/** A page body, given the request's path, a CSRF token and the client's name. */
export type PageBody = (base: string, csrf: string, clientName: string) => SafeHtml;

const MAX_FIELD = 1024;

/** A form field: one string, at most `max` long, else undefined. */
export function field(request: FastifyRequest, name: string, max = MAX_FIELD): string | undefined {
  const value = (request.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' && value.length <= max ? value : undefined;
}

/**
 * The second-factor methods a form says the page offered (its hidden `methods`): only
 * what the page shows again after a refusal, never what is accepted.
 */
export function offeredMethods(request: FastifyRequest): SecondFactorMethod[] {
  const named = (field(request, 'methods') ?? '').split(' ');
  return SECOND_FACTOR_METHODS.filter((method) => named.includes(method));
}

export const raw = (request: FastifyRequest, reply: FastifyReply) => ({
  req: request.raw,
  res: reply.raw,
});

/**
 * What every route of the hosted pages shares (oidc-interaction-routes.ts and
 * interaction-method-routes.ts): rendering a page in the client tenant's look, the
 * step that follows a sign-in, and the page of a request that cannot go on. Whichever
 * method signed the person in, the flow continues from `signedIn` the same way.
 */
export function createInteractionFlow(options: InteractionFlowOptions) {
  const { signIn } = options;

  /** Renders a page of the interaction; `passkey`: it has the passkey button, and its script. */
  async function page(
    request: FastifyRequest,
    reply: FastifyReply,
    title: string,
    body: PageBody,
    status = 200,
    passkey = false,
  ) {
    const { interaction, client } = await signIn.load(raw(request, reply));
    // CSP form-action also governs the redirects after a submission: the last one
    // lands on the client's redirect URI.
    for (const uri of client.redirect_uris) {
      try {
        reply.formActionOrigins.push(new URL(uri).origin);
      } catch {
        // A private-use scheme (a native app) has no origin to name.
      }
    }
    const base = interactionPath(interaction.uid);
    // Only a page with the passkey button runs a script, and its CSP says so.
    reply.pageScript = passkey;
    return reply
      .code(status)
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(
        renderHostedPage({
          title,
          body: body(base, reply.generateCsrf(), client.name),
          nonce: reply.cspNonce,
          branding: await options.brandingOf(client.tenant_id),
          script: passkey ? PASSKEY_SCRIPT : undefined,
        }),
      );
  }

  async function answer(
    request: FastifyRequest,
    reply: FastifyReply,
    step: NextStep,
    signInError?: { email?: string; error: string; status?: number },
  ) {
    switch (step.step) {
      case 'sign_in': {
        const sso = await offeredConnections(request, reply);
        return page(
          request,
          reply,
          'Sign in',
          (base, csrf, clientName) =>
            signInBody({
              base,
              csrf,
              clientName,
              methods: options.methods,
              ...(signInError?.email === undefined ? {} : { email: signInError.email }),
              ...(signInError ? { error: signInError.error } : {}),
              ...(sso ? { sso } : {}),
            }),
          signInError ? (signInError.status ?? 400) : 200,
          options.methods.passkey,
        );
      }
      case 'tenant':
        return page(request, reply, 'Choose an organization', (base, csrf, clientName) =>
          tenantBody({ base, csrf, clientName, tenants: step.tenants }),
        );
      case 'consent':
        return page(request, reply, 'Allow access?', (base, csrf, clientName) =>
          consentBody({ base, csrf, clientName, scopes: step.scopes }),
        );
      case 'done': {
        const { pending } = await signIn.load(raw(request, reply));
        if (pending && (await options.enrollment.due(pending.session_id))) {
          return enrollPage(request, reply, pending.session_id);
        }
        reply.hijack();
        return signIn.finish(raw(request, reply), auditContextOf(request));
      }
    }
  }

  /**
   * The IdPs the sign-in page offers: a client pinned to its tenant shows that tenant's;
   * a client open to any tenant only the way to find one by address. Undefined: no SSO
   * (none to offer, nor to find: a page never shows a way that leads nowhere).
   */
  async function offeredConnections(
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<readonly OfferedConnection[] | undefined> {
    const federation = options.federation;
    if (!federation) return undefined;
    const { client } = await signIn.load(raw(request, reply));
    if (client.tenant_choice) return (await federation.discoverable()) ? [] : undefined;
    const offered = await federation.offered(client.tenant_id);
    return offered.length > 0 ? offered : undefined;
  }

  /**
   * The tenant requires a second factor and the user has none: a new TOTP secret to
   * scan (a reload starts another, replacing the unconfirmed one).
   */
  async function enrollPage(request: FastifyRequest, reply: FastifyReply, sessionId: string) {
    const started = await options.enrollment.start(sessionId, auditContextOf(request));
    return page(request, reply, 'Set up two-step verification', (base, csrf) =>
      enrollTotpBody({ base, csrf, key: { qrCode: started.qr_code, secret: started.secret } }),
    );
  }

  /** A sign-in's answer: tokens (its session continues the flow) or a second-factor challenge. */
  async function signedIn(
    request: FastifyRequest,
    reply: FastifyReply,
    answered: TokenSet | MfaChallenge,
  ) {
    if ('mfa_required' in answered) return secondFactorPage(request, reply, answered);
    const step = await signIn.signedIn(raw(request, reply), answered);
    return answer(request, reply, step);
  }

  /** The second step: a code, or a passkey when the user has one. */
  function secondFactorPage(
    request: FastifyRequest,
    reply: FastifyReply,
    challenge: Pick<MfaChallenge, 'mfa_token' | 'methods'>,
    error?: string,
  ) {
    return page(
      request,
      reply,
      'Two-step verification',
      (base, csrf) =>
        secondFactorBody({
          base,
          csrf,
          mfaToken: challenge.mfa_token,
          methods: challenge.methods,
          ...(error ? { error } : {}),
        }),
      error ? 400 : 200,
      challenge.methods.includes('webauthn'),
    );
  }

  return { page, answer, signedIn, secondFactorPage, enrollPage, expired, pageOfError };
}

export type InteractionFlow = ReturnType<typeof createInteractionFlow>;

/** A refusal worth a page (a 4xx), else rethrown. */
export function pageOfError(error: unknown): unknown {
  if (error instanceof TesseraError && error.status < 500) return error;
  // oidc-provider's own errors (no interaction cookie, an expired interaction).
  const status = (error as { statusCode?: number }).statusCode;
  if (typeof status === 'number' && status < 500) return error;
  throw error;
}

/** The request cannot go on (its cookie missing, expired or spent, or refused for good). */
export function expired(reply: FastifyReply, error: unknown) {
  if (reply.raw.headersSent) return reply;
  const detail =
    error instanceof TesseraError
      ? error.detail
      : 'This sign-in has expired or was already used. Go back to the application and start again.';
  const page = renderHostedPage({
    title: 'This sign-in cannot continue',
    body: messageBody(detail),
    nonce: reply.cspNonce,
    branding: { product_name: 'Tessera', logo_url: '', color: '#3b5bdb' },
  });
  if (reply.sent) {
    // Hijacked for the provider's redirect, which never came: answer on the raw
    // response, with the headers Fastify would have added, or the browser waits forever.
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined) reply.raw.setHeader(name, value as string | string[]);
    }
    reply.raw.writeHead(400, {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': pageCsp(reply.cspNonce, []),
      'cache-control': 'no-store',
    });
    reply.raw.end(page);
    return reply;
  }
  return reply.code(400).type('text/html; charset=utf-8').send(page);
}
