import type { FastifySchemaValidationError } from 'fastify';
import type { FieldError } from '../platform/errors.ts';
import { isBody } from '../platform/validation-failed.ts';

/**
 * Turns Fastify's schema validation errors (ajv, or TypeBox's compiler, which
 * reports the same shape) into `errors[]` entries whose `path` is a JSON Pointer
 * (RFC 6901): into the body as is (`/events/0/event_type`), other request parts
 * under their name (`/querystring/limit`, `/params/stream`, `/headers/x-api-key`).
 */
export function fieldErrors(
  validation: readonly FastifySchemaValidationError[],
  context: string | undefined,
): FieldError[] {
  const prefix = isBody(context) ? '' : `/${context}`;
  return validation.flatMap((error) => fieldErrorsOf(error, prefix));
}

function fieldErrorsOf(error: FastifySchemaValidationError, prefix: string): FieldError[] {
  const base = `${prefix}${error.instancePath}`;
  // A missing or unknown property is reported at its parent; point at the property itself.
  const missing = propertyNames(error.params.missingProperty ?? error.params.requiredProperties);
  if (error.keyword === 'required' && missing.length > 0) {
    return missing.map((name) => ({
      path: `${base}/${escapePointer(name)}`,
      message: 'is required',
    }));
  }
  const unknown = propertyNames(
    error.params.additionalProperty ?? error.params.additionalProperties,
  );
  if (error.keyword === 'additionalProperties' && unknown.length > 0) {
    return unknown.map((name) => ({
      path: `${base}/${escapePointer(name)}`,
      message: 'is not an allowed property',
    }));
  }
  return [{ path: base, message: error.message ?? `fails ${error.keyword}` }];
}

function propertyNames(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string');
  return [];
}

/** RFC 6901 §3: `~` is written `~0` and `/` is written `~1`. */
function escapePointer(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}
