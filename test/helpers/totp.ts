import { createHmac } from 'node:crypto';

/**
 * An independent RFC 6238 implementation for tests (node:crypto only, no otplib), so
 * the server's codes are checked against code that shares nothing with it. Checked
 * itself against RFC 6238 Appendix B in src/identity/mfa tests.
 */

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 (padding and case ignored) to bytes. */
export function base32Decode(text: string): Buffer {
  const clean = text.replace(/=+$/, '').toUpperCase();
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const char of clean) {
    const index = BASE32.indexOf(char);
    if (index < 0) throw new Error(`not base32: ${char}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** RFC 4226 HOTP with RFC 6238's choice of hash; `digits` 6 or 8. */
export function hotp(
  key: Buffer,
  counter: number,
  digits = 6,
  algorithm: 'sha1' | 'sha256' | 'sha512' = 'sha1',
): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac(algorithm, key).update(message).digest();
  const offset = (mac[mac.length - 1] as number) & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

/**
 * The TOTP code of a base32 secret at `atMs` (30-second steps, 6 digits, SHA-1: what
 * apps use). The server accepts ±1 step and each step once, so a test needing several
 * fresh codes uses `stepOffset` -1, 0, +1 in that order rather than waiting.
 */
export function totpCode(secretBase32: string, atMs = Date.now(), stepOffset = 0): string {
  return hotp(base32Decode(secretBase32), Math.floor(atMs / 30_000) + stepOffset);
}
