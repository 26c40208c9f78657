import { randomBytes } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { answerCsrfRefusalsWithPage } from './csrf-refusal-page.ts';

declare module 'fastify' {
  interface FastifyReply {
    /** This response's CSP nonce, for the page's style element. */
    cspNonce: string;
    /**
     * Origins the page's form may end up at besides this one: CSP's form-action also
     * governs the redirects that follow a submission (a magic link's 303 to its app).
     */
    formActionOrigins: string[];
    /**
     * The page runs its own nonce'd script (a passkey ceremony needs
     * navigator.credentials): the CSP then allows that one script and fetches to this
     * origin. Pages that leave it false stay script-free.
     */
    pageScript: boolean;
  }
}

/**
 * A page's CSP: nothing but its own nonce'd style, images from https (a tenant's
 * logo), and forms posting back to this origin. No script at all, unless the page
 * asked for its one nonce'd script (`reply.pageScript`): never `unsafe-inline`.
 */
export function pageCsp(nonce: string, formOrigins: readonly string[], script = false): string {
  return [
    "default-src 'none'",
    `style-src 'nonce-${nonce}'`,
    ...(script ? [`script-src 'nonce-${nonce}'`, "connect-src 'self'"] : []),
    'img-src https: data:',
    ["form-action 'self'", ...formOrigins].join(' '),
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export interface PagesOptions {
  /** Cookies only over https when the server's public address is https. */
  readonly secureCookies: boolean;
}

/**
 * The server-rendered pages an email's link opens (verify an address, reset a
 * password, sign in with a magic link, accept an invitation), outside /api/v1. Each is
 * a GET that changes nothing (mail scanners prefetch links) and shows a form, and a
 * POST of that form. Forms carry a CSRF token (@fastify/csrf-protection, its secret in
 * a SameSite=Strict cookie); form bodies are urlencoded (@fastify/formbody).
 */
export function pagesPlugin(
  options: PagesOptions,
  pages: readonly FastifyPluginAsync[],
): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    await app.register(fastifyFormbody, { bodyLimit: 16 * 1024 });
    await app.register(fastifyCookie);
    await app.register(fastifyCsrf, {
      cookieKey: 'tessera_csrf',
      cookieOpts: {
        path: '/',
        httpOnly: true,
        sameSite: 'strict',
        secure: options.secureCookies,
      },
      getToken: (request) => (request.body as { _csrf?: string } | undefined)?._csrf,
    });
    app.decorateReply('cspNonce', '');
    app.decorateReply('formActionOrigins', null as unknown as string[]);
    app.decorateReply('pageScript', false);
    app.addHook('onRequest', async (_request, reply) => {
      reply.cspNonce = randomBytes(16).toString('base64');
      reply.formActionOrigins = [];
      reply.pageScript = false;
    });
    app.addHook('onSend', async (_request, reply, payload) => {
      if (String(reply.getHeader('content-type') ?? '').startsWith('text/html')) {
        reply.header(
          'content-security-policy',
          pageCsp(reply.cspNonce, reply.formActionOrigins, reply.pageScript),
        );
      }
      return payload;
    });
    answerCsrfRefusalsWithPage(app);
    for (const page of pages) await app.register(page);
  };
}

export { sendPage } from './send-page.ts';
