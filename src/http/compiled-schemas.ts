/**
 * Route schemas compiled once per process, whatever number of apps it builds.
 *
 * Fastify compiles every route's validators (Ajv) and response serializers
 * (fast-json-stringify) for each app it builds, and about a hundred routes take
 * hundreds of milliseconds of CPU to compile. A server builds one app, but a process
 * that builds many (tests build one per case: 40% of a route test's CPU went here) would
 * compile the same schemas again each time. What a schema compiles to depends only on
 * what is keyed here (the schema, the shared schemas it may reference and the
 * compiler's options), and the compiled functions keep no state between calls, so
 * apps can share them.
 */

import type { FastifyServerOptions } from 'fastify';

/** Fastify's compiler factories, which validator-compiler.ts and serializer-compiler.ts provide. */
export type CompilersFactory = NonNullable<
  NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']
>;

/** More distinct schemas than the routes have: a bound, not a size anyone should meet. */
const MAX_ENTRIES = 5_000;

export class CompiledSchemas<Compiled> {
  readonly #compiled = new Map<string, Compiled>();

  /**
   * The function compiled from `inputs`, compiled by `compile` the first time. Inputs
   * holding a function (an Ajv plugin, say) or anything else JSON cannot spell are
   * compiled every time: two such inputs could look alike and compile differently.
   */
  get(inputs: readonly unknown[], compile: () => Compiled): Compiled {
    const key = keyOf(inputs);
    if (key === undefined) return compile();
    let compiled = this.#compiled.get(key);
    if (compiled === undefined) {
      compiled = compile();
      if (this.#compiled.size < MAX_ENTRIES) this.#compiled.set(key, compiled);
    }
    return compiled;
  }

  get size(): number {
    return this.#compiled.size;
  }
}

class Unkeyable extends Error {}

function keyOf(inputs: readonly unknown[]): string | undefined {
  try {
    return JSON.stringify(inputs, (_key, value: unknown) => {
      if (typeof value === 'function' || typeof value === 'bigint') throw new Unkeyable();
      if (typeof value === 'number' && !Number.isFinite(value)) throw new Unkeyable();
      return value;
    });
  } catch (error) {
    if (error instanceof Unkeyable) return undefined;
    throw error;
  }
}
