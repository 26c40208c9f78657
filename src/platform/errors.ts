/**
 * One error type for the whole service. Every failure the API can return is a
 * registered code with a fixed HTTP status, so clients can switch on `code`
 * and `docs/errors.md` can list them all (a test keeps the two in sync).
 */

export interface ErrorCodeDefinition {
  readonly status: number;
  readonly title: string;
}

export interface FieldError {
  /** JSON Pointer-ish path of the offending field, e.g. `/events/3/event_type`. */
  readonly path: string;
  readonly message: string;
}

const registry = new Map<string, ErrorCodeDefinition>();

/** Registers a domain's error codes once; a code may never be reused for another meaning. */
export function defineErrorCodes<const T extends Record<string, ErrorCodeDefinition>>(
  definitions: T,
): { readonly [K in keyof T]: K } {
  const codes: Record<string, string> = {};
  for (const [code, definition] of Object.entries(definitions)) {
    if (!/^[a-z][a-z0-9_]*$/.test(code)) throw new Error(`error code ${code} is not snake_case`);
    const existing = registry.get(code);
    if (existing && existing.status !== definition.status) {
      throw new Error(`error code ${code} is already registered with status ${existing.status}`);
    }
    registry.set(code, definition);
    codes[code] = code;
  }
  return codes as { readonly [K in keyof T]: K };
}

export function registeredErrorCodes(): ReadonlyMap<string, ErrorCodeDefinition> {
  return registry;
}

export interface TesseraErrorOptions {
  /** Field-level failures (validation). */
  errors?: readonly FieldError[];
  /** Extra members of the problem document, e.g. `expected` and `actual` versions. */
  extensions?: Record<string, unknown>;
  /** Response headers that belong to this failure, e.g. `Allow` or `Retry-After`. */
  headers?: Record<string, string>;
  cause?: unknown;
}

export class TesseraError extends Error {
  readonly code: string;
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly errors: readonly FieldError[] | undefined;
  readonly extensions: Record<string, unknown> | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(code: string, detail: string, options: TesseraErrorOptions = {}) {
    const definition = registry.get(code);
    if (!definition) throw new Error(`unregistered error code ${code}`);
    super(detail, { cause: options.cause });
    this.name = 'TesseraError';
    this.code = code;
    this.status = definition.status;
    this.title = definition.title;
    this.detail = detail;
    this.errors = options.errors;
    this.extensions = options.extensions;
    this.headers = options.headers;
  }
}

export function isTesseraError(value: unknown): value is TesseraError {
  return value instanceof TesseraError;
}
