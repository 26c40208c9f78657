import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type { LoggerOptions } from 'pino';
import type { Config } from '../config/schema.ts';

/** Credentials never reach a log line, whichever object a log call passes. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers.cookie',
  'res.headers["set-cookie"]',
];

const redact = { paths: REDACTED_PATHS, censor: '[redacted]' };

/** Query parameters that carry a credential (subscription tickets, for browsers). */
const SECRET_QUERY = /([?&]ticket=)[^&#]*/gi;

/** A URL as it may be logged: a credential in its query replaced by `[redacted]`. */
export function redactUrl(url: string): string {
  return url.replace(SECRET_QUERY, '$1[redacted]');
}

/** Fastify's own request serializer, with the URL redacted (it logs req.url on every request). */
const serializers = {
  req(request: FastifyRequest) {
    return {
      method: request.method,
      url: redactUrl(request.url),
      version: request.headers?.['accept-version'],
      host: request.host,
      remoteAddress: request.ip,
      remotePort: request.socket?.remotePort,
    };
  },
};

export type AppLogger = FastifyBaseLogger | LoggerOptions;

function isLoggerInstance(logger: AppLogger): logger is FastifyBaseLogger {
  return typeof (logger as { child?: unknown }).child === 'function';
}

/**
 * Fastify's logger settings: an existing logger (the server's) becomes a child with
 * redaction added; options are merged over `logging.level` from the configuration.
 */
export function loggerSettings(
  config: Config,
  logger: AppLogger | undefined,
): { logger: LoggerOptions } | { loggerInstance: FastifyBaseLogger } {
  if (logger && isLoggerInstance(logger)) {
    return { loggerInstance: logger.child({}, { redact, serializers }) };
  }
  return { logger: { level: config.logging.level, ...logger, redact, serializers } };
}
