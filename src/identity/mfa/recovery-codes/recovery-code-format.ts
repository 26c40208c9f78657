import { createHash, randomInt } from 'node:crypto';

/** How many codes a user gets at once (issue 18). */
export const RECOVERY_CODE_COUNT = 10;

// Crockford's base32 alphabet: no i, l, o or u, so nothing reads as another character.
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const GROUP = 5;

/**
 * A code to write down and type: two groups of five (`7k2mq-x9d4c`), 50 random bits.
 * Guessing is bounded by the login's lockout, and each code works once.
 */
export function newRecoveryCode(): string {
  const chars = Array.from({ length: GROUP * 2 }, () => ALPHABET[randomInt(ALPHABET.length)]);
  return `${chars.slice(0, GROUP).join('')}-${chars.slice(GROUP).join('')}`;
}

/**
 * What the user typed, as stored: case, spaces and hyphens ignored, and the letters
 * Crockford maps to digits (i, l → 1; o → 0) read as those digits. Undefined when it
 * cannot be a code, so nothing is looked up.
 */
export function normalizeRecoveryCode(typed: string): string | undefined {
  const compact = typed
    .toLowerCase()
    .replace(/[\s-]/g, '')
    .replace(/[il]/g, '1')
    .replace(/o/g, '0');
  if (compact.length !== GROUP * 2) return undefined;
  for (const char of compact) if (!ALPHABET.includes(char)) return undefined;
  return compact;
}

/**
 * Only this is stored. SHA-256 suffices: 50 random bits are not a password to
 * stretch, and the user's id in the input makes a digest useless for anyone else's row.
 */
export function recoveryCodeDigest(userId: string, normalized: string): string {
  return createHash('sha256').update(`${userId}:${normalized}`).digest('hex');
}
