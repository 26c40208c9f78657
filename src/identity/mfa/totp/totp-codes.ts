import { generateSecret, verify } from 'otplib';

/**
 * RFC 6238 TOTP as authenticator apps speak it: HMAC-SHA-1, 6 digits, 30-second
 * steps from the Unix epoch. Every check takes the time explicitly, so the caller's
 * clock (injected in tests) is the only clock.
 */
export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** RFC 6238 §5.2: accept one step either side, for clock drift and typing time. */
const TOLERANCE_SECONDS = TOTP_PERIOD_SECONDS;

/** A new shared secret: 20 random bytes (RFC 4226 §4 recommends 160 bits), base32. */
export function newTotpSecret(): string {
  return generateSecret({ length: 20 });
}

/** The RFC 6238 time step (T) of an instant. */
export function totpStepAt(atMs: number): number {
  return Math.floor(atMs / 1000 / TOTP_PERIOD_SECONDS);
}

/**
 * The time step whose code `code` is, within ±1 step of `atMs`; undefined when it is
 * none of them (or not six digits). Which step matters: each is accepted once.
 */
export async function matchingStep(
  secret: string,
  code: string,
  atMs: number,
): Promise<number | undefined> {
  const digits = code.replace(/\s/g, '');
  if (!/^\d{6}$/.test(digits)) return undefined;
  const result = await verify({
    secret,
    token: digits,
    epoch: Math.floor(atMs / 1000),
    epochTolerance: TOLERANCE_SECONDS,
    period: TOTP_PERIOD_SECONDS,
    digits: TOTP_DIGITS,
    algorithm: 'sha1',
  });
  // `delta`: how many steps from the current one the code matched (-1, 0 or +1).
  return result.valid ? totpStepAt(atMs) + result.delta : undefined;
}

/**
 * The Key URI Format authenticator apps scan
 * (https://github.com/google/google-authenticator/wiki/Key-Uri-Format): the label
 * `issuer:account`, and every parameter spelled out, defaults included, since some
 * apps ignore what is missing rather than assume the default.
 */
export function otpauthUri(issuer: string, account: string, secret: string): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  const query = new URLSearchParams({
    secret,
    issuer,
    algorithm: 'SHA1',
    digits: String(TOTP_DIGITS),
    period: String(TOTP_PERIOD_SECONDS),
  });
  return `otpauth://totp/${label}?${query.toString().replaceAll('+', '%20')}`;
}
