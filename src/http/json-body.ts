import type { FastifyInstance } from 'fastify';
import { TesseraError } from '../platform/errors.ts';
import { HttpErrors } from './errors.ts';

/**
 * Request bodies are JSON only. Fastify's text/plain parser goes: any other media
 * type is 415, which also keeps cross-site "simple" requests (HTML forms, text/plain
 * fetches that skip CORS preflight) from delivering a body at all.
 *
 * The JSON parser is Fastify's own (it rejects `__proto__` and `constructor.prototype`
 * keys), wrapped so that a syntax error tells the client where the JSON broke.
 */
export function installJsonBody(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    parse(request, text, (error, value) => {
      if (error) done(malformedJson(text), undefined);
      else done(null, value);
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
