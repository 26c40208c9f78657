import type { FastifyBaseLogger } from 'fastify';
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
  if (logger && isLoggerInstance(logger)) return { loggerInstance: logger.child({}, { redact }) };
  return { logger: { level: config.logging.level, ...logger, redact } };
}
