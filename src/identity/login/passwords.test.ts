import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hash } from '@node-rs/argon2';
import {
  burnPasswordCheck,
  checkPasswordPolicy,
  hashPassword,
  needsRehash,
  PASSWORD_MAX_LENGTH,
  verifyPassword,
} from './passwords.ts';

describe('password hashing', () => {
  it('hashes with argon2id at the OWASP parameters and a fresh salt each time', async () => {
    const first = await hashPassword('correct horse battery staple');
    const second = await hashPassword('correct horse battery staple');
    assert.match(first, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.notEqual(first, second);
    assert.equal(needsRehash(first), false);
  });

  it('verifies the right password and refuses a wrong one', async () => {
    const stored = await hashPassword('correct horse battery staple');
    assert.equal(await verifyPassword(stored, 'correct horse battery staple'), true);
    assert.equal(await verifyPassword(stored, 'correct horse battery stapler'), false);
    assert.equal(await verifyPassword(stored, ''), false);
  });

  it('treats canonically equivalent Unicode spellings as the same password', async () => {
    const composed = 'caf\u00e9 au lait';
    const decomposed = 'cafe\u0301 au lait';
    assert.equal(await verifyPassword(await hashPassword(composed), decomposed), true);
  });

  it('answers false, never throws, for a malformed or foreign stored hash', async () => {
    for (const stored of ['', 'not a hash', '$argon2id$v=19$m=19456,t=2,p=1$', '$2b$10$abc']) {
      assert.equal(await verifyPassword(stored, 'whatever'), false, stored);
    }
  });

  it('asks for a rehash of hashes made with other parameters', async () => {
    const weaker = await hash('password', { memoryCost: 8192, timeCost: 1, parallelism: 1 });
    assert.equal(needsRehash(weaker), true);
    assert.equal(needsRehash('garbage'), true);
  });

  it('burnPasswordCheck always answers false, for any input', async () => {
    assert.equal(await burnPasswordCheck('correct horse battery staple'), false);
    assert.equal(await burnPasswordCheck(''), false);
  });
});

describe('password policy', () => {
  it('accepts passwords between the minimum and 256 characters', () => {
    assert.deepEqual(checkPasswordPolicy('12345678', 8), []);
    assert.deepEqual(checkPasswordPolicy('a'.repeat(PASSWORD_MAX_LENGTH), 8), []);
    assert.deepEqual(checkPasswordPolicy('pass word with spaces', 12), []);
  });

  it('rejects too short and too long passwords', () => {
    assert.deepEqual(checkPasswordPolicy('1234567', 8), ['must be at least 8 characters long']);
    assert.deepEqual(checkPasswordPolicy('', 8), ['must be at least 8 characters long']);
    assert.deepEqual(checkPasswordPolicy('a'.repeat(PASSWORD_MAX_LENGTH + 1), 8), [
      'must be at most 256 characters long',
    ]);
  });

  it('counts Unicode code points, not UTF-16 units or bytes', () => {
    // Four emoji are 8 UTF-16 units and 16 UTF-8 bytes, but 4 characters.
    assert.deepEqual(checkPasswordPolicy('😀😀😀😀', 8), ['must be at least 8 characters long']);
    assert.deepEqual(checkPasswordPolicy('😀'.repeat(8), 8), []);
    assert.deepEqual(checkPasswordPolicy('😀'.repeat(PASSWORD_MAX_LENGTH), 8), []);
  });

  it('rejects passwords made only of whitespace', () => {
    assert.deepEqual(checkPasswordPolicy(' '.repeat(10), 8), [
      'must not consist of whitespace only',
    ]);
    assert.deepEqual(checkPasswordPolicy('\t\n\u00a0\u3000    ', 8), [
      'must not consist of whitespace only',
    ]);
  });
});
