import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRouteIndex } from './route-index.ts';

describe('createRouteIndex', () => {
  const index = createRouteIndex();
  index.add(['GET', 'HEAD'], '/streams/:stream');
  index.add('DELETE', '/streams/:stream');
  index.add('GET', '/files/*');
  index.add('OPTIONS', '*');

  it('lists the methods of a path, sorted, including a catch-all OPTIONS', () => {
    assert.deepEqual(index.allowedMethods('/streams/abc?x=1'), [
      'DELETE',
      'GET',
      'HEAD',
      'OPTIONS',
    ]);
    assert.deepEqual(index.allowedMethods('/files/a/b'), ['GET', 'OPTIONS']);
  });

  it('knows no path that only a catch-all matches', () => {
    assert.deepEqual(index.allowedMethods('/nothing/here'), []);
  });

  it('ignores a duplicate registration', () => {
    index.add('DELETE', '/streams/:stream');
    assert.deepEqual(index.allowedMethods('/streams/x'), ['DELETE', 'GET', 'HEAD', 'OPTIONS']);
  });
});
