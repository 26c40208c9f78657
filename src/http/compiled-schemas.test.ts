import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { CompiledSchemas } from './compiled-schemas.ts';
import { sharedSerializers } from './serializer-compiler.ts';
import { tesseraValidators } from './validator-compiler.ts';

const BODY = {
  type: 'object',
  properties: { name: { type: 'string', maxLength: 3 } },
  required: ['name'],
  additionalProperties: false,
};
const REPLY = { 200: { type: 'object', properties: { name: { type: 'string' } } } };

/** A Fastify app as buildApp makes them, with one route. */
async function appWith(body: object) {
  const app = Fastify({
    ajv: { customOptions: { removeAdditional: false } },
    schemaController: {
      compilersFactory: {
        buildValidator: tesseraValidators(),
        buildSerializer: sharedSerializers(),
      },
    },
  });
  app.post('/things', { schema: { body, response: REPLY } }, async (request) => ({
    ...(request.body as object),
    secret: 'never serialized',
  }));
  await app.ready();
  return app;
}

describe('route schemas compiled once per process', () => {
  it('compiles inputs once, and again only for inputs that differ', () => {
    const cache = new CompiledSchemas<string>();
    let compiled = 0;
    const compile = () => `fn${++compiled}`;
    assert.equal(cache.get([{}, BODY], compile), 'fn1');
    assert.equal(cache.get([{}, structuredClone(BODY)], compile), 'fn1', 'equal content, same key');
    assert.equal(cache.get([{}, { ...BODY, required: [] }], compile), 'fn2');
    assert.equal(cache.get([{ Problem: {} }, BODY], compile), 'fn3', 'shared schemas count');
    assert.equal(cache.size, 3);
  });

  it('compiles every time what JSON cannot spell: functions, bigints, Infinity', () => {
    const cache = new CompiledSchemas<number>();
    let compiled = 0;
    for (const odd of [{ plugins: [() => {}] }, { limit: 10n }, { maximum: Infinity }]) {
      cache.get([odd], () => ++compiled);
      cache.get([odd], () => ++compiled);
    }
    assert.equal(compiled, 6);
    assert.equal(cache.size, 0);
  });

  it('hands the same validator and serializer to a second app, and each app its own schema', async () => {
    const validate = (factory: ReturnType<typeof tesseraValidators>) =>
      (factory as unknown as (e: unknown, o: unknown) => (r: unknown) => unknown)(
        {},
        {},
      )({
        schema: BODY,
        method: 'POST',
        url: '/things',
        httpPart: 'body',
      });
    assert.equal(validate(tesseraValidators()), validate(tesseraValidators()));
    const serialize = (factory: ReturnType<typeof sharedSerializers>) =>
      (factory as unknown as (e: unknown, o: unknown) => (r: unknown) => unknown)(
        {},
        {},
      )({
        schema: REPLY[200],
        method: 'POST',
        url: '/things',
        httpStatus: '200',
      });
    assert.equal(serialize(sharedSerializers()), serialize(sharedSerializers()));

    const first = await appWith(BODY);
    const second = await appWith(BODY);
    const looser = await appWith({ ...BODY, properties: { name: { type: 'string' } } });
    try {
      for (const app of [first, second]) {
        const ok = await app.inject({ method: 'POST', url: '/things', payload: { name: 'abc' } });
        assert.deepEqual(ok.json(), { name: 'abc' }, 'serialized by the response schema');
        const long = await app.inject({
          method: 'POST',
          url: '/things',
          payload: { name: 'abcd' },
        });
        assert.equal(long.statusCode, 400);
      }
      const long = await looser.inject({
        method: 'POST',
        url: '/things',
        payload: { name: 'abcd' },
      });
      assert.equal(long.statusCode, 200, 'a different schema is compiled for itself');
    } finally {
      await Promise.all([first.close(), second.close(), looser.close()]);
    }
  });
});
