import { randomBytes } from 'node:crypto';
import { type Algorithm, hash, parseOptions, verify } from '@node-rs/argon2';

/**
 * OWASP Password Storage Cheat Sheet, Argon2id minimum: 19 MiB of memory, 2
 * iterations, 1 degree of parallelism (~25 ms per hash on our machines).
 * `Algorithm` is an ambient const enum, which isolated modules may not read: 2 is Argon2id.
 */
export const ARGON2ID_OPTIONS = {
  algorithm: 2 as Algorithm,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

/** Longest accepted password in Unicode code points (`[auth] password_min_length` is the shortest). */
export const PASSWORD_MAX_LENGTH = 256;

/**
 * NIST SP 800-63B §5.1.1.2: normalise Unicode (NFKC) before hashing, so the same
 * password typed on different keyboards or systems verifies.
 */
function normalise(plain: string): string {
  return plain.normalize('NFKC');
}

/** A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) with a fresh random salt. */
export function hashPassword(plain: string): Promise<string> {
  return hash(normalise(plain), ARGON2ID_OPTIONS);
}

/** False for a wrong password and for a stored hash that is malformed; never throws. */
export async function verifyPassword(storedHash: string, plain: string): Promise<boolean> {
  try {
    return await verify(storedHash, normalise(plain));
  } catch {
    return false;
  }
}

/** True when a stored hash was made with other parameters: rehash it after the next login. */
export function needsRehash(storedHash: string): boolean {
  try {
    const options = parseOptions(storedHash);
    return (
      options.algorithm !== ARGON2ID_OPTIONS.algorithm ||
      options.memoryCost !== ARGON2ID_OPTIONS.memoryCost ||
      options.timeCost !== ARGON2ID_OPTIONS.timeCost ||
      options.parallelism !== ARGON2ID_OPTIONS.parallelism
    );
  } catch {
    return true;
  }
}

let dummyHash: Promise<string> | undefined;

/**
 * Does the work of one verification and answers false. Called when the email is
 * unknown (or the user has no password), so such an answer takes about as long as a
 * wrong password and response times do not reveal which accounts exist (OWASP
 * Authentication Cheat Sheet, "Authentication Responses"). The dummy hash of a random
 * secret is made once, with the same parameters as real hashes.
 */
export async function burnPasswordCheck(plain: string): Promise<false> {
  dummyHash ??= hashPassword(randomBytes(32).toString('base64url'));
  await verifyPassword(await dummyHash, plain);
  return false;
}

/**
 * NIST SP 800-63B §5.1.1.2 / OWASP: a length rule only, no composition rules; any
 * Unicode character and spaces allowed; lengths counted in code points.
 * Returns the problems, empty when the password is acceptable.
 */
export function checkPasswordPolicy(plain: string, minLength: number): string[] {
  const problems: string[] = [];
  const length = [...plain].length;
  if (length < minLength) problems.push(`must be at least ${minLength} characters long`);
  if (length > PASSWORD_MAX_LENGTH) {
    problems.push(`must be at most ${PASSWORD_MAX_LENGTH} characters long`);
  }
  if (length > 0 && plain.trim() === '') problems.push('must not consist of whitespace only');
  return problems;
}
