import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TesseraError } from '../platform/errors.ts';
import { HttpErrors } from '../platform/http-errors.ts';
import { notFound, toTesseraError } from './fastify-errors.ts';
import { sendProblem } from './problem.ts';
import { createRouteIndex } from './route-index.ts';

/**
 * Makes every failure an RFC 9457 problem document: thrown errors (the error
 * handler), unknown routes and wrong methods (the not-found handler). Installed on
 * the root instance before any route, so its onRoute hook sees every route.
 */
export function installProblemHandlers(app: FastifyInstance): void {
  const routes = createRouteIndex();
  app.addHook('onRoute', (route) => routes.add(route.method, route.url));

  /** 404, or 405 with Allow when the path exists with other methods. */
  const routeMiss = (request: FastifyRequest): TesseraError => {
    const allowed = routes.allowedMethods(request.url);
    if (allowed.length === 0 || allowed.includes(request.method)) return notFound(request);
    // RFC 9110 §15.5.6: a 405 response MUST carry Allow with the supported methods.
    return new TesseraError(
      HttpErrors.method_not_allowed,
      `${request.method} is not supported on this path; use ${allowed.join(', ')}.`,
      { headers: { allow: allowed.join(', ') }, extensions: { allowed_methods: allowed } },
    );
  };

  app.setErrorHandler((error, request, reply) => {
    // Body parsing runs before the not-found handler; a bad body sent to a path
    // that does not exist is first of all a request for a missing route.
    const problem = request.is404 ? routeMiss(request) : toTesseraError(error, request);
    logFailure(request, error, problem);
    return sendProblem(request, reply, problem);
  });

  app.setNotFoundHandler((request, reply) => sendProblem(request, reply, routeMiss(request)));
}

/**
 * Fastify's `frameworkErrors` option: errors raised while routing, before any hook
 * runs (a URL that is not valid percent-encoding, an over-long path parameter).
 * `prepare` adds what onRequest hooks would have added (request id, security headers).
 */
export function frameworkErrorHandler(
  prepare: (request: FastifyRequest, reply: FastifyReply) => void,
) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    prepare(request, reply);
    const problem = toTesseraError(error, request);
    logFailure(request, error, problem);
    sendProblem(request, reply, problem);
  };
}

function logFailure(request: FastifyRequest, error: unknown, problem: TesseraError): void {
  if (problem.status >= 500) {
    // The client sees a generic detail; the log keeps the real error and its stack.
    request.log.error({ err: error, code: problem.code }, 'request failed');
  } else {
    request.log.info(
      { code: problem.code, status: problem.status, detail: problem.detail },
      'request rejected',
    );
  }
}
