import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { durationWords } from './duration-words.ts';

describe('durationWords', () => {
  it('names the largest unit that divides the duration exactly', () => {
    assert.equal(durationWords(900), '15 minutes');
    assert.equal(durationWords(60), '1 minute');
    assert.equal(durationWords(5400), '90 minutes');
    assert.equal(durationWords(3600), '1 hour');
    assert.equal(durationWords(86_400), '1 day');
    assert.equal(durationWords(7 * 86_400), '7 days');
    assert.equal(durationWords(45), '45 seconds');
  });
});
