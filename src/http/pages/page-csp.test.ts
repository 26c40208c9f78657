import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pageCsp } from './pages.ts';

/** The pages' CSP: script-free unless the page opted in to its one nonce'd script. */
describe('pageCsp', () => {
  it('allows no script at all by default', () => {
    const csp = pageCsp('n0nce', []);
    assert.doesNotMatch(csp, /script-src/);
    assert.doesNotMatch(csp, /connect-src/);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /style-src 'nonce-n0nce'/);
  });

  it('a page with a script: that nonce only, fetches to its own origin, never unsafe-inline', () => {
    const csp = pageCsp('n0nce', ['https://app.example'], true);
    assert.match(csp, /script-src 'nonce-n0nce'(;|$)/);
    assert.match(csp, /connect-src 'self'(;|$)/);
    assert.match(csp, /form-action 'self' https:\/\/app\.example/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  });
});
