import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { open, seal } from './secret-box.ts';

const key = randomBytes(32);
const secret = Buffer.from('an Ed25519 private key, say');

/** Flips one bit of the base64url part at `index` (1 nonce, 2 ciphertext, 3 tag). */
function flipBit(sealed: string, index: number): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[index] as string, 'base64url');
  bytes[0] = (bytes[0] as number) ^ 1;
  parts[index] = bytes.toString('base64url');
  return parts.join('.');
}

describe('secret box (AES-256-GCM)', () => {
  it('round-trips, with a fresh nonce every time', () => {
    const a = seal(key, secret, 'kid-1');
    const b = seal(key, secret, 'kid-1');
    assert.match(a, /^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    assert.notEqual(a, b);
    assert.deepEqual(open(key, a, 'kid-1'), secret);
    assert.deepEqual(open(key, b, 'kid-1'), secret);
    assert.deepEqual(open(key, seal(key, Buffer.alloc(0), ''), ''), Buffer.alloc(0));
  });

  it('refuses altered nonce, ciphertext or tag', () => {
    const sealed = seal(key, secret, 'kid-1');
    for (const index of [1, 2, 3]) {
      assert.throws(() => open(key, flipBit(sealed, index), 'kid-1'), /authentication failed/);
    }
  });

  it('refuses another key or another key id (the additional authenticated data)', () => {
    const sealed = seal(key, secret, 'kid-1');
    assert.throws(() => open(randomBytes(32), sealed, 'kid-1'), /authentication failed/);
    assert.throws(() => open(key, sealed, 'kid-2'), /authentication failed/);
  });

  it('refuses malformed boxes and wrong key sizes', () => {
    const sealed = seal(key, secret, 'kid-1');
    const [, nonce, ciphertext, tag] = sealed.split('.');
    for (const bad of [
      '',
      `v2.${sealed.slice(3)}`,
      `v1.${nonce}.${ciphertext}`,
      `v1.${nonce}.${ciphertext}.${tag}.extra`,
      `v1.${nonce}.${ciphertext}.${tag?.slice(4)}`,
      `v1.${nonce?.slice(4)}.${ciphertext}.${tag}`,
      `v1.${nonce}.${ciphertext}+.${tag}`,
    ]) {
      assert.throws(() => open(key, bad, 'kid-1'), /secret box/, bad);
    }
    assert.throws(() => seal(randomBytes(16), secret, 'k'), /32 bytes/);
    assert.throws(() => open(randomBytes(16), sealed, 'kid-1'), /32 bytes/);
  });
});
