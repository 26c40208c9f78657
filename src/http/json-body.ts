import type { FastifyInstance } from 'fastify';
import { TesseraError } from '../platform/errors.ts';
import { HttpErrors } from '../platform/http-errors.ts';
import { inspectJsonBody } from './json-inspection.ts';

/**
 * Request bodies are JSON only. Fastify's text/plain parser goes: any other media
 * type is 415, which also keeps cross-site "simple" requests (HTML forms, text/plain
 * fetches that skip CORS preflight) from delivering a body at all.
 *
 * The JSON parser is Fastify's own (it rejects `__proto__` and `constructor.prototype`
 * keys), wrapped so that a syntax error tells the client where the JSON broke, and
 * followed by the checks every body passes before a route sees it (nesting depth,
 * storable text: json-inspection.ts).
 *
 * An empty body with `Content-Type: application/json` is no body at all on a route
 * that takes none (clients such as axios send the header on every DELETE); on a
 * route that takes a body it is malformed JSON.
 */
export function installJsonBody(app: FastifyInstance, options: { maxDepth: number }): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.length === 0 && request.routeOptions.schema?.body === undefined) {
      done(null, undefined);
      return;
    }
    parse(request, text, (error, value) => {
      if (error) done(malformedJson(text), undefined);
      else done(inspectJsonBody(value, text, options.maxDepth) ?? null, value);
    });
  });
}

function malformedJson(body: string): TesseraError {
  if (body.length === 0) {
    return new TesseraError(
      HttpErrors.malformed_json,
      'The request body is empty but Content-Type is application/json.',
    );
  }
  return new TesseraError(
    HttpErrors.malformed_json,
    `The request body is not valid JSON: ${syntaxErrorOf(body)}.`,
  );
}

/** JSON.parse's message (position, line and column) for the body the safe parser refused. */
function syntaxErrorOf(body: string): string {
  try {
    JSON.parse(body);
    // Valid JSON the safe parser still refused: a prototype-poisoning key.
    return 'it contains a forbidden "__proto__" or "constructor.prototype" key';
  } catch (error) {
    return error instanceof SyntaxError ? error.message : 'it could not be parsed';
  }
}
