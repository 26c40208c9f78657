import { type FieldError, TesseraError } from './errors.ts';
import { HttpErrors } from './http-errors.ts';

// The 400 `validation_failed` with field errors, for whoever finds a request wrong: the
// HTTP layer (schema failures, see http/validation.ts) and services (what no schema can
// say, e.g. a time that must be in the future) word it alike, and neither imports the other.

/** One line for `detail`, in Fastify's own wording: `body/events/0/event_type must ...`. */
export function validationDetail(
  errors: readonly FieldError[],
  context: string | undefined,
): string {
  const where = (path: string) => (isBody(context) ? `body${path}` : path.slice(1));
  return errors.map((error) => `${where(error.path)} ${error.message}`).join('; ');
}

/** Whether `context` (a Fastify validation context) is the request body. */
export function isBody(context: string | undefined): boolean {
  return context === undefined || context === 'body';
}

/** The 400 for failures found past the route schema, shaped like the schema's own. */
export function validationFailed(errors: readonly FieldError[], context = 'body'): TesseraError {
  return new TesseraError(HttpErrors.validation_failed, validationDetail(errors, context), {
    errors,
  });
}
