import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifySchema } from 'fastify';
import { TESSERA_VERSION } from '../platform/version.ts';
import { documentRoute, finishDocument, SECURITY_SCHEMES } from './openapi-document.ts';
import { ProblemSchema } from './problem.ts';
import { DOCS_PREFIX } from './security-headers.ts';

const PROBLEM_RESPONSE = {
  content: { 'application/problem+json': { schema: { $ref: 'Problem#' } } },
};

/**
 * Every operation can fail with a problem document (RFC 9457), so each one lists
 * `4XX` and `5XX` responses pointing at the shared `Problem` component, unless the
 * route documents those itself. Only the OpenAPI output changes, never the route.
 */
function withProblemResponses(schema: FastifySchema | undefined): FastifySchema {
  const response = (schema?.response ?? {}) as Record<string, unknown>;
  return {
    ...schema,
    response: {
      ...response,
      '4XX': response['4XX'] ?? {
        description: 'Client error (problem details).',
        ...PROBLEM_RESPONSE,
      },
      '5XX': response['5XX'] ?? {
        description: 'Server error (problem details).',
        ...PROBLEM_RESPONSE,
      },
    },
  };
}

/**
 * package.json says `UNLICENSED`: no licence is granted (proprietary). SPDX has no
 * identifier for that, so the license object links npm's definition of the term
 * (OpenAPI 3.1 wants a `url` or an SPDX `identifier`).
 */
export const LICENSE = {
  name: 'UNLICENSED (proprietary, no licence granted)',
  url: 'https://docs.npmjs.com/cli/v11/configuring-npm/package-json#license',
};

/**
 * OpenAPI 3.1 generated from the route schemas, at `GET /openapi.json`, and Swagger
 * UI at `/docs`. Registered before any route: @fastify/swagger collects routes
 * through an onRoute hook. Everything a generator or linter needs (operationId,
 * security, optional parameters) is derived here from what each route declares.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  app.addSchema(ProblemSchema);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Tessera',
        version: TESSERA_VERSION,
        description:
          'Multi-tenant event store with identity built in. Every failure is an RFC 9457 problem document.',
        license: LICENSE,
      },
      // Relative: the API is wherever this document was fetched from, behind any proxy.
      servers: [{ url: '/', description: 'The server that serves this document.' }],
      components: { securitySchemes: SECURITY_SCHEMES },
      tags: [{ name: 'platform', description: 'Health, metrics and documentation.' }],
    },
    // Shared schemas keep their $id as the component name (`#/components/schemas/Problem`).
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, index) =>
        typeof json.$id === 'string' ? json.$id : `def-${index}`,
    },
    transform: ({ schema, url, route }) => ({
      schema: withProblemResponses(documentRoute(schema, route)),
      url,
    }),
    transformObject: (document) =>
      'openapiObject' in document ? finishDocument(document.openapiObject) : document.swaggerObject,
  });
  // The page, its initializer and the bundle are files under /docs (no inline script).
  // BaseLayout: the standalone layout's top bar (a box to load other documents) draws
  // a logo SVG holding an inline <style>, which the docs CSP (style-src 'self') blocks.
  // No validatorUrl: the page never calls a third party.
  // docExpansion none: the page opens on the list of tags (a deep link opens its own);
  // with every tag's operations drawn at once, 135 operations left the page re-rendering
  // for minutes after each Authorize. A filter box finds an operation by tag.
  await app.register(swaggerUi, {
    routePrefix: DOCS_PREFIX,
    uiConfig: { deepLinking: true, layout: 'BaseLayout', docExpansion: 'none', filter: true },
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
