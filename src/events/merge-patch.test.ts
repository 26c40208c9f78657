import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyMergePatch } from './merge-patch.ts';

// RFC 7396 Appendix A, row by row: [target, patch, result].
const APPENDIX_A: ReadonlyArray<readonly [string, string, string]> = [
  ['{"a":"b"}', '{"a":"c"}', '{"a":"c"}'],
  ['{"a":"b"}', '{"b":"c"}', '{"a":"b","b":"c"}'],
  ['{"a":"b"}', '{"a":null}', '{}'],
  ['{"a":"b","b":"c"}', '{"a":null}', '{"b":"c"}'],
  ['{"a":["b"]}', '{"a":"c"}', '{"a":"c"}'],
  ['{"a":"c"}', '{"a":["b"]}', '{"a":["b"]}'],
  ['{"a":{"b":"c"}}', '{"a":{"b":"d","c":null}}', '{"a":{"b":"d"}}'],
  ['{"a":[{"b":"c"}]}', '{"a":[1]}', '{"a":[1]}'],
  ['["a","b"]', '["c","d"]', '["c","d"]'],
  ['{"a":"b"}', '["c"]', '["c"]'],
  ['{"a":"foo"}', 'null', 'null'],
  ['{"a":"foo"}', '"bar"', '"bar"'],
  ['{"e":null}', '{"a":1}', '{"e":null,"a":1}'],
  ['[1,2]', '{"a":"b","c":null}', '{"a":"b"}'],
  ['{}', '{"a":{"bb":{"ccc":null}}}', '{"a":{"bb":{}}}'],
];

describe('applyMergePatch', () => {
  for (const [target, patch, expected] of APPENDIX_A) {
    it(`RFC 7396 A: ${target} + ${patch} = ${expected}`, () => {
      const result = applyMergePatch(JSON.parse(target), JSON.parse(patch));
      assert.deepEqual(result, JSON.parse(expected));
      assert.equal(JSON.stringify(result), expected);
    });
  }

  it('treats a missing target (undefined) like a non-object', () => {
    assert.deepEqual(applyMergePatch(undefined, { a: 1, b: null }), { a: 1 });
    assert.equal(applyMergePatch(undefined, 3), 3);
  });

  it('never mutates the target or the patch', () => {
    const target = { a: { b: 1, c: [1, 2] }, d: 'x', gone: true };
    const patch = { a: { b: 2, e: null }, d: null, f: { g: null, h: 1 }, gone: null };
    const targetCopy = structuredClone(target);
    const patchCopy = structuredClone(patch);
    const result = applyMergePatch(target, patch);
    assert.deepEqual(result, { a: { b: 2, c: [1, 2] }, f: { h: 1 } });
    assert.deepEqual(target, targetCopy);
    assert.deepEqual(patch, patchCopy);
    assert.notEqual(result, target);
  });

  it('keeps "__proto__" a plain member and never changes a prototype', () => {
    const target = JSON.parse('{"__proto__":{"old":1},"k":1}');
    const patch = JSON.parse('{"__proto__":{"polluted":true,"old":null}}');
    const result = applyMergePatch(target, patch) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(result), Object.prototype);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(JSON.stringify(result), '{"__proto__":{"polluted":true},"k":1}');
    const fresh = applyMergePatch({}, JSON.parse('{"__proto__":{"x":1}}'));
    assert.equal(JSON.stringify(fresh), '{"__proto__":{"x":1}}');
    assert.equal(Object.getPrototypeOf(fresh), Object.prototype);
  });

  it('deletes an own "__proto__" member with null', () => {
    const target = JSON.parse('{"__proto__":{"x":1},"k":1}');
    const result = applyMergePatch(target, JSON.parse('{"__proto__":null}'));
    assert.equal(JSON.stringify(result), '{"k":1}');
  });
});
