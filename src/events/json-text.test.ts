import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findUnstorableText } from './json-text.ts';

// The serialized text only needs to show a \u escape; deep values cannot be stringified.
const check = (value: unknown) => findUnstorableText(value, '\\u');

describe('findUnstorableText', () => {
  it('points at the first NUL or lone surrogate in document order, keys included', () => {
    assert.equal(check({ a: 'ok', b: ['x', 'y\u0000'] }), '/b/1');
    assert.equal(check({ a: { 'k\u0000': 1 }, b: '\ud800' }), '/a/k\u0000');
    assert.equal(check({ a: ['\udc00'], 'b\u0000': 1 }), '/a/0');
    assert.equal(check({ 'a/b~': '\u0000' }), '/a~1b~0');
    assert.equal(check('\u0000'), '/');
    assert.equal(check({ a: '\ud83d\ude00' }), undefined, 'a surrogate pair is fine');
  });

  it('walks a value nested far deeper than the stack allows, without recursion', () => {
    let value: unknown = '\u0000';
    for (let level = 0; level < 200_000; level++) value = [value];
    const found = check(value);
    assert.equal(found, '/0'.repeat(200_000));
  });
});
