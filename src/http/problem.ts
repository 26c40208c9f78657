import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { FieldError, TesseraError } from '../platform/errors.ts';

/**
 * RFC 9457 problem details. `type` is `https://tessera.dev/problems/<code>`: a stable
 * URI per code (RFC 9457 §3.1.1 asks for one that identifies the problem type), which
 * docs/errors.md documents. It is an identifier, not something clients must fetch.
 */
export const PROBLEM_TYPE_BASE = 'https://tessera.dev/problems/';
export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

export interface ProblemDocument {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: string;
  readonly request_id: string;
  readonly errors?: readonly FieldError[];
  readonly [extension: string]: unknown;
}

/** The shared OpenAPI component every route's 4XX/5XX responses point at. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String({ format: 'uri', description: 'https://tessera.dev/problems/<code>' }),
    title: Type.String({ description: 'Short summary of the problem type.' }),
    status: Type.Integer({ minimum: 400, maximum: 599, description: 'The HTTP status code.' }),
    detail: Type.String({ description: 'What went wrong with this request.' }),
    code: Type.String({
      pattern: '^[a-z][a-z0-9_]*$',
      description: 'Stable machine-readable code; see docs/errors.md.',
    }),
    request_id: Type.String({
      description: 'Echoes X-Request-ID; quote it when reporting a problem.',
    }),
    errors: Type.Optional(
      Type.Array(
        Type.Object({
          path: Type.String({ description: 'JSON Pointer to the offending field.' }),
          message: Type.String(),
        }),
        { description: 'Field-level failures (validation_failed).' },
      ),
    ),
  },
  {
    $id: 'Problem',
    title: 'Problem',
    description: 'RFC 9457 problem details. Some codes add members of their own.',
    additionalProperties: true,
  },
);

export function problemDocument(error: TesseraError, requestId: string): ProblemDocument {
  // Extensions first so they can never overwrite the members RFC 9457 defines.
  return {
    ...error.extensions,
    type: `${PROBLEM_TYPE_BASE}${error.code}`,
    title: error.title,
    status: error.status,
    detail: error.detail,
    code: error.code,
    request_id: requestId,
    ...(error.errors && error.errors.length > 0 ? { errors: error.errors } : {}),
  };
}

/**
 * Sends `error` as problem+json. Serialized here, not by Fastify, so that a route's
 * response schema can never strip members (extensions) from a problem document.
 */
export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  error: TesseraError,
): FastifyReply {
  if (error.headers) reply.headers(error.headers);
  return reply
    .code(error.status)
    .type(PROBLEM_CONTENT_TYPE)
    .send(JSON.stringify(problemDocument(error, request.id)));
}
