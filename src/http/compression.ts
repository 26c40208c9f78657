import { constants } from 'node:zlib';
import compress from '@fastify/compress';
import type { FastifyInstance } from 'fastify';

/**
 * Response compression, br preferred over gzip when the client accepts both.
 * Bodies under 1 KiB are sent as they are: compressing them costs more CPU than
 * the bytes it saves. Brotli at quality 4, not the default 11, which is meant for
 * static assets compressed once and is far too slow per response.
 */
export async function registerCompression(app: FastifyInstance): Promise<void> {
  await app.register(compress, {
    global: true,
    encodings: ['br', 'gzip'],
    threshold: 1024,
    brotliOptions: { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } },
  });
}
