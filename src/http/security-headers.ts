import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/schema.ts';

export const DOCS_PREFIX = '/docs';

/** API responses are data, never documents: nothing may load, frame or run. */
const API_CSP = "default-src 'none'; frame-ancestors 'none'";

/**
 * The Swagger UI page loads only its own files from /docs/static. Its CSS uses
 * data: images and fonts; it fetches the spec from /docs/json (connect-src).
 * No inline script is needed (the bundled index.html has none).
 */
const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** An API has no use for any powerful browser feature. */
const PERMISSIONS_POLICY = [
  'accelerometer',
  'camera',
  'display-capture',
  'geolocation',
  'gyroscope',
  'magnetometer',
  'microphone',
  'midi',
  'payment',
  'usb',
]
  .map((feature) => `${feature}=()`)
  .join(', ');

export type HeaderSet = Readonly<Record<string, string>>;

export function securityHeaders(server: Config['server']): { api: HeaderSet; docs: HeaderSet } {
  const common: Record<string, string> = {
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'permissions-policy': PERMISSIONS_POLICY,
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
  };
  const hsts = strictTransportSecurity(server);
  if (hsts) common['strict-transport-security'] = hsts;
  return {
    // API answers may hold tenant data: no shared or browser cache may keep them
    // (OWASP REST Security). Routes that want caching set their own Cache-Control.
    api: { ...common, 'content-security-policy': API_CSP, 'cache-control': 'no-store' },
    docs: { ...common, 'content-security-policy': DOCS_CSP },
  };
}

/**
 * RFC 6797 §6.1. Browsers ignore the header on plain HTTP (§8.1), so sending it
 * always is harmless and right when TLS ends at a proxy in front of Tessera.
 */
function strictTransportSecurity(server: Config['server']): string | undefined {
  if (server.hsts_max_age_seconds <= 0) return undefined;
  const includeSubdomains = server.hsts_include_subdomains ? '; includeSubDomains' : '';
  return `max-age=${server.hsts_max_age_seconds}${includeSubdomains}`;
}

/** The hook body: API or docs headers, chosen by the matched route. */
export function securityHeadersFor(server: Config['server']): PrepareReply {
  const headers = securityHeaders(server);
  return (request, reply) => {
    const route = request.routeOptions.url;
    const isDocs =
      route !== undefined && (route === DOCS_PREFIX || route.startsWith(`${DOCS_PREFIX}/`));
    reply.headers(isDocs ? headers.docs : headers.api);
  };
}

export type PrepareReply = (request: FastifyRequest, reply: FastifyReply) => void;

/**
 * Set at onRequest so that every response, errors and 404s included, carries them;
 * `frameworkErrorHandler` applies the same function to errors raised before any hook.
 * Not @fastify/helmet: it sets headers from its own onRequest hook only, so those
 * framework errors (a malformed URL) would go out without any, the /docs policy would
 * have to be injected into routes another plugin registers, and it has no
 * Permissions-Policy or Cache-Control. Two fixed header sets are simpler to verify.
 */
export function installSecurityHeaders(app: FastifyInstance, apply: PrepareReply): void {
  app.addHook('onRequest', async (request, reply) => apply(request, reply));
}
