import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import { CompiledSchemas, type CompilersFactory } from './compiled-schemas.ts';

type BuildSerializer = NonNullable<CompilersFactory['buildSerializer']>;
type Serialize = (doc: unknown) => string;

const SERIALIZERS = new CompiledSchemas<Serialize>();

/**
 * Fastify's own response serializers (fast-json-stringify), each compiled once per
 * process and shared by the apps it builds (compiled-schemas.ts). The compiler itself
 * is made only when a schema is not compiled yet.
 */
export function sharedSerializers(): BuildSerializer {
  const build = SerializerSelector();
  const factory: ReturnType<typeof SerializerSelector> = (externalSchemas, options) => {
    let compiler: ReturnType<ReturnType<typeof SerializerSelector>> | undefined;
    return (route) =>
      SERIALIZERS.get([externalSchemas, options, route.schema], () => {
        compiler ??= build(externalSchemas, options);
        return compiler(route);
      });
  };
  return factory as unknown as BuildSerializer;
}
