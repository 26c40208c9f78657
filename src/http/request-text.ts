import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isUnstorableText } from '../platform/unstorable-text.ts';
import { invalidCharacters } from './json-inspection.ts';

/**
 * Refuses, before authentication or any route, a request whose path parameters or
 * query string carry text no store can keep (NUL, lone surrogates): on PostgreSQL
 * each of them used to reach a query and fail there as a 500 (issue 15). Headers
 * need no check: Node's HTTP parser refuses NUL in them, and they are Latin-1.
 * Bodies are checked by the JSON parser (json-body.ts).
 */
export function installRequestTextCheck(app: FastifyInstance): void {
  app.addHook('onRequest', async (request) => {
    const where = unstorablePart(request);
    if (where !== undefined) throw invalidCharacters(where);
  });
}

function unstorablePart(request: FastifyRequest): string | undefined {
  for (const [name, value] of Object.entries((request.params ?? {}) as Record<string, unknown>)) {
    if (typeof value === 'string' && isUnstorableText(value)) return `The path parameter ${name}`;
  }
  for (const [name, value] of Object.entries((request.query ?? {}) as Record<string, unknown>)) {
    if (isUnstorableText(name)) return 'A query parameter name';
    const values = Array.isArray(value) ? value : [value];
    if (values.some((item) => typeof item === 'string' && isUnstorableText(item))) {
      return `The query parameter ${JSON.stringify(name)}`;
    }
  }
  return undefined;
}
