import type { FastifyError, FastifyRequest } from 'fastify';
import { isTesseraError, TesseraError } from '../platform/errors.ts';
import { HttpErrors } from '../platform/http-errors.ts';
import { validationDetail } from '../platform/validation-failed.ts';
import { fieldErrors } from './validation.ts';

const GENERIC_INTERNAL_DETAIL =
  'An unexpected error occurred. Quote the request_id when reporting it.';

/** Fastify's (and its plugins') own error codes, with the Tessera code and detail each becomes. */
const FRAMEWORK_ERRORS: Readonly<Record<string, (request: FastifyRequest) => TesseraError>> = {
  FST_ERR_CTP_EMPTY_JSON_BODY: () =>
    new TesseraError(
      HttpErrors.malformed_json,
      'The request body is empty but Content-Type is application/json.',
    ),
  FST_ERR_CTP_INVALID_JSON_BODY: () =>
    new TesseraError(HttpErrors.malformed_json, 'The request body is not valid JSON.'),
  FST_ERR_CTP_BODY_TOO_LARGE: (request) =>
    new TesseraError(
      HttpErrors.body_too_large,
      `The request body exceeds the limit of ${request.routeOptions.bodyLimit} bytes.`,
      { extensions: { limit_bytes: request.routeOptions.bodyLimit } },
    ),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: (request) =>
    new TesseraError(
      HttpErrors.unsupported_media_type,
      `Content-Type ${JSON.stringify(request.headers['content-type'] ?? '')} is not accepted here; send application/json.`,
    ),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () =>
    new TesseraError(
      HttpErrors.bad_request,
      'The request body size does not match its Content-Length.',
    ),
  FST_CP_ERR_INVALID_CONTENT_ENCODING: (request) =>
    new TesseraError(
      HttpErrors.unsupported_content_encoding,
      `Content-Encoding ${JSON.stringify(request.headers['content-encoding'] ?? '')} is not supported; use br, gzip or deflate.`,
    ),
  FST_CP_ERR_INVALID_CONTENT: () =>
    new TesseraError(
      HttpErrors.bad_request,
      'The request body could not be decompressed with its Content-Encoding.',
    ),
  FST_ERR_BAD_URL: () =>
    new TesseraError(HttpErrors.bad_request, 'The request URL is not validly percent-encoded.'),
  FST_ERR_MAX_PARAM_LENGTH: () =>
    new TesseraError(HttpErrors.uri_too_long, 'A path parameter of the request URL is too long.'),
  FST_ERR_NOT_FOUND: (request) => notFound(request),
  FST_ERR_HANDLER_TIMEOUT: () =>
    new TesseraError(HttpErrors.service_unavailable, 'The request took too long to process.', {
      headers: { 'retry-after': '1' },
    }),
};

/** Other 4xx statuses a plugin may raise, to the code that means the same. */
const BY_STATUS: Readonly<Record<number, string>> = {
  401: HttpErrors.unauthorized,
  404: HttpErrors.not_found,
  405: HttpErrors.method_not_allowed,
  413: HttpErrors.body_too_large,
  414: HttpErrors.uri_too_long,
  415: HttpErrors.unsupported_media_type,
};

export function notFound(request: FastifyRequest): TesseraError {
  return new TesseraError(
    HttpErrors.not_found,
    `No route matches ${request.method} ${pathOf(request.url)}.`,
  );
}

/**
 * Whatever reached the error handler, as a TesseraError. Client errors keep a
 * message that helps the client; anything else becomes internal_error with a
 * generic detail, since its message may hold internals (SQL, paths, stack).
 */
export function toTesseraError(error: unknown, request: FastifyRequest): TesseraError {
  if (isTesseraError(error)) return error;
  const fastifyError = error as Partial<FastifyError>;
  if (Array.isArray(fastifyError.validation)) {
    const errors = fieldErrors(fastifyError.validation, fastifyError.validationContext);
    return new TesseraError(
      HttpErrors.validation_failed,
      validationDetail(errors, fastifyError.validationContext),
      {
        errors,
      },
    );
  }
  const known = fastifyError.code === undefined ? undefined : FRAMEWORK_ERRORS[fastifyError.code];
  if (known) return known(request);
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const message = fastifyError.message || 'The request is invalid.';
    return new TesseraError(BY_STATUS[status] ?? HttpErrors.bad_request, message);
  }
  return new TesseraError(HttpErrors.internal_error, GENERIC_INTERNAL_DETAIL);
}

/** The path alone, cut short: the detail names it but must not echo a huge URL back. */
function pathOf(url: string): string {
  const end = url.search(/[?#]/);
  const path = end === -1 ? url : url.slice(0, end);
  return path.length > 200 ? `${path.slice(0, 200)}...` : path;
}
