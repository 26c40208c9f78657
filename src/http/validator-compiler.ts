import { AjvCompiler } from '@fastify/ajv-compiler';
import type { FastifySchemaValidationError } from 'fastify';
import { CompiledSchemas, type CompilersFactory } from './compiled-schemas.ts';

type BuildValidator = NonNullable<CompilersFactory['buildValidator']>;
type Validate = ((data: unknown) => boolean) & { errors?: unknown };
interface RouteDefinition {
  readonly schema: unknown;
  readonly httpPart?: string;
}
interface AjvOptions {
  readonly customOptions?: Record<string, unknown>;
  readonly plugins?: unknown[];
}
/** @fastify/ajv-compiler's pool, typed as used here (its own types are Ajv's unions). */
type BuildFromPool = (
  externalSchemas: unknown,
  options: AjvOptions,
) => (route: RouteDefinition) => Validate;

/**
 * Fastify's Ajv validators, with two corrections for input no route may see:
 *
 * - Bodies are not coerced. Ajv's `coerceTypes: 'array'` suits the query string
 *   (where everything is text and `?type=a` is a one-element list), but applied to a
 *   JSON body it unwraps `{"description": ["x"]}` inside `anyOf` and lets the array
 *   through to SQL (issue 15: a 500 on PATCH teams and roles). JSON has types.
 * - Integers must be safe (|n| <= 2^53 - 1). Ajv coerces `limit=1e999` to Infinity
 *   and `18446744073709551616` to an inexact double and then skips `maximum` on
 *   them; neither fits a BIGINT column, so they reached the database as a 500.
 */
export function tesseraValidators(): BuildValidator {
  const build = AjvCompiler() as unknown as BuildFromPool;
  const factory: BuildFromPool = (externalSchemas, ajvOptions) => {
    const options = { customOptions: {}, plugins: [], ...ajvOptions };
    // Ajv instances only when a schema is not compiled yet (compiled-schemas.ts).
    let coercing: ReturnType<BuildFromPool> | undefined;
    let strict: ReturnType<BuildFromPool> | undefined;
    const compile = (route: RouteDefinition) => {
      if (route.httpPart === 'body') {
        strict ??= build(externalSchemas, {
          ...options,
          customOptions: { ...options.customOptions, coerceTypes: false },
        });
        return withSafeIntegers(strict(route), route.schema);
      }
      coercing ??= build(externalSchemas, options);
      return withSafeIntegers(coercing(route), route.schema);
    };
    return (route: RouteDefinition) =>
      VALIDATORS.get([externalSchemas, options, route.httpPart === 'body', route.schema], () =>
        compile(route),
      );
  };
  return factory as unknown as BuildValidator;
}

const VALIDATORS = new CompiledSchemas<Validate>();

function withSafeIntegers(validate: Validate, schema: unknown): Validate {
  const checked: Validate = (data) => {
    if (!validate(data)) {
      checked.errors = validate.errors;
      return false;
    }
    const unsafe = unsafeIntegerAt(schema, data, '');
    if (unsafe === undefined) return true;
    const error: FastifySchemaValidationError = {
      keyword: 'safe_integer',
      instancePath: unsafe,
      schemaPath: '#',
      params: {},
      message: `must be an integer from ${-Number.MAX_SAFE_INTEGER} to ${Number.MAX_SAFE_INTEGER}`,
    };
    checked.errors = [error];
    return false;
  };
  return checked;
}

interface SchemaNode {
  readonly type?: unknown;
  readonly properties?: Record<string, SchemaNode>;
  readonly items?: SchemaNode;
  readonly anyOf?: readonly SchemaNode[];
  readonly oneOf?: readonly SchemaNode[];
  readonly allOf?: readonly SchemaNode[];
}

/**
 * A JSON Pointer to the first value the schema types as an integer that is not a safe
 * one, or undefined. Walks schema and data together, iteratively (a body may be deep),
 * and only where the schema says what a value is: free-form JSON (event payloads) is
 * the client's business.
 */
function unsafeIntegerAt(schema: unknown, data: unknown, at: string): string | undefined {
  const pending: [SchemaNode, unknown, string][] = [[schema as SchemaNode, data, at]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [node, value, path] = next;
    if (typeof node !== 'object' || node === null) continue;
    if (typeof value === 'number' && isIntegerType(node.type) && !Number.isSafeInteger(value)) {
      return path;
    }
    for (const branch of [...(node.anyOf ?? []), ...(node.oneOf ?? []), ...(node.allOf ?? [])]) {
      pending.push([branch, value, path]);
    }
    if (Array.isArray(value) && node.items) {
      for (const [index, item] of value.entries())
        pending.push([node.items, item, `${path}/${index}`]);
    } else if (typeof value === 'object' && value !== null && node.properties) {
      const record = value as Record<string, unknown>;
      for (const [key, property] of Object.entries(node.properties)) {
        if (key in record) pending.push([property, record[key], `${path}/${escapePointer(key)}`]);
      }
    }
  }
  return undefined;
}

function isIntegerType(type: unknown): boolean {
  return type === 'integer' || (Array.isArray(type) && type.includes('integer'));
}

/** RFC 6901 §3. */
function escapePointer(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}
