import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { filterProblems, matcherOf } from './filters.ts';

describe('webhook filters', () => {
  it('matches exact names and patterns where * is any run of characters, dots included', () => {
    const matches = matcherOf(['order.*', 'invoice.sent', '*.failed']);
    for (const name of [
      'order.placed',
      'order.line.added',
      'order.',
      'invoice.sent',
      'payment.failed',
    ]) {
      assert.equal(matches(name), true, name);
    }
    for (const name of [
      'orders.placed',
      'invoice.sent.twice',
      'invoice',
      'xorder.placed',
      'failed',
    ]) {
      assert.equal(matches(name), false, name);
    }
  });

  it('takes dots and other characters literally', () => {
    const matches = matcherOf(['a.b', 'c-d:*']);
    assert.equal(matches('a.b'), true);
    assert.equal(matches('aXb'), false, 'a dot is no wildcard');
    assert.equal(matches('c-d:e'), true);
  });

  it('matches nothing for no pattern and everything for *', () => {
    assert.equal(matcherOf([])('anything'), false);
    assert.equal(matcherOf(['*'])('anything.at.all'), true);
  });

  it('asks for something to receive, a prefix only with types, and no pattern twice', () => {
    const none = { event_types: [], entity_prefix: null, platform_events: [] };
    assert.deepEqual(
      filterProblems(none).map((problem) => problem.path),
      ['/event_types'],
    );
    assert.deepEqual(
      filterProblems({ ...none, platform_events: ['user.*'], entity_prefix: 'order-' }).map(
        (problem) => problem.path,
      ),
      ['/entity_prefix'],
    );
    assert.deepEqual(
      filterProblems({ ...none, event_types: ['a', 'a'], platform_events: ['b', 'b'] }).map(
        (problem) => problem.path,
      ),
      ['/event_types', '/platform_events'],
    );
    assert.deepEqual(filterProblems({ ...none, event_types: ['a'], entity_prefix: 'x' }), []);
  });
});
