import type { FastifyBaseLogger, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import {
  END_SESSION_CONFIRM_PATH,
  END_SESSION_SUCCESS_PATH,
  OAUTH_METADATA_PATH,
  OIDC_DISCOVERY_PATH,
  OIDC_ROUTES,
} from './oidc-paths.ts';

export interface OidcMountOptions {
  /** The provider of the moment: rebuilt when the signing keys change (oidc-provider-holder.ts). */
  readonly provider: () => Promise<Provider>;
}

/** The provider answers its own failures (a `server_error` page or JSON); they are bugs to log. */
function logServerErrors(provider: Provider, log: FastifyBaseLogger): void {
  provider.on('server_error', (_ctx: unknown, error: Error) => {
    log.error({ err: error }, 'OpenID Provider: server error');
  });
}

type Method = 'GET' | 'POST' | 'OPTIONS';

/** Each endpoint oidc-provider answers, and its methods (OPTIONS: CORS preflight). */
const ENDPOINTS: ReadonlyArray<readonly [string, readonly Method[]]> = [
  [OIDC_DISCOVERY_PATH, ['GET', 'OPTIONS']],
  [OIDC_ROUTES.authorization, ['GET', 'POST']],
  [`${OIDC_ROUTES.authorization}/:uid`, ['GET']],
  [OIDC_ROUTES.token, ['POST', 'OPTIONS']],
  [OIDC_ROUTES.userinfo, ['GET', 'POST', 'OPTIONS']],
  [OIDC_ROUTES.revocation, ['POST', 'OPTIONS']],
  [OIDC_ROUTES.introspection, ['POST']],
  [OIDC_ROUTES.end_session, ['GET', 'POST']],
  [END_SESSION_CONFIRM_PATH, ['POST']],
  [END_SESSION_SUCCESS_PATH, ['GET']],
];

/**
 * oidc-provider is a Koa application; each of its endpoints is a Fastify route that
 * hands the raw request and response to it. Bodies are left unread here (the provider
 * parses its own), and the security headers Fastify prepared for the reply are copied
 * onto the raw response first, since a hijacked reply never sends them.
 *
 * RFC 8414 metadata is the OpenID discovery document (a superset of it) served at
 * `/.well-known/oauth-authorization-server` as well.
 */
export function oidcMount({ provider }: OidcMountOptions): FastifyPluginAsync {
  const handlers = new WeakMap<Provider, ReturnType<Provider['callback']>>();
  let log: FastifyBaseLogger;
  const handlerOf = (current: Provider) => {
    let handler = handlers.get(current);
    if (!handler) {
      logServerErrors(current, log);
      handler = current.callback();
      handlers.set(current, handler);
    }
    return handler;
  };
  return async (app) => {
    log = app.log;
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));

    const handOver = async (request: FastifyRequest, reply: FastifyReply, url?: string) => {
      const current = await provider();
      reply.hijack();
      for (const [name, value] of Object.entries(reply.getHeaders())) {
        if (value !== undefined) reply.raw.setHeader(name, value as string);
      }
      if (url !== undefined) request.raw.url = url;
      handlerOf(current)(request.raw, reply.raw);
    };

    for (const [url, methods] of ENDPOINTS) {
      app.route({
        method: [...methods],
        url,
        config: { access: 'public' },
        schema: { hide: true },
        handler: (request, reply) => handOver(request, reply),
      });
    }
    app.route({
      method: ['GET', 'OPTIONS'],
      url: OAUTH_METADATA_PATH,
      config: { access: 'public' },
      schema: { hide: true },
      handler: (request, reply) =>
        handOver(
          request,
          reply,
          request.raw.url?.replace(OAUTH_METADATA_PATH, OIDC_DISCOVERY_PATH),
        ),
    });
  };
}
