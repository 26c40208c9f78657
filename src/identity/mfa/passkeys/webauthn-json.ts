import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { Type } from 'typebox';
import { Value } from 'typebox/value';
import { TesseraError } from '../../../platform/errors.ts';
import { MfaErrors } from '../mfa-errors.ts';

/**
 * The JSON shapes of WebAuthn Level 3 `PublicKeyCredential.toJSON()` (what browsers
 * and @simplewebauthn/browser send), checked at the boundary so that anything
 * malformed is a 400 before a library sees it. Browsers may add members: allowed.
 */
const base64url = (maxLength: number) =>
  Type.String({ minLength: 1, maxLength, pattern: '^[A-Za-z0-9_-]+={0,2}$' });

const credentialCommon = {
  id: base64url(1400),
  rawId: base64url(1400),
  type: Type.Literal('public-key'),
  authenticatorAttachment: Type.Optional(
    Type.Union([Type.Literal('platform'), Type.Literal('cross-platform')]),
  ),
  clientExtensionResults: Type.Object({}, { additionalProperties: true }),
};

export const RegistrationResponse = Type.Object(
  {
    ...credentialCommon,
    response: Type.Object({
      clientDataJSON: base64url(8192),
      attestationObject: base64url(32768),
      authenticatorData: Type.Optional(base64url(16384)),
      transports: Type.Optional(Type.Array(Type.String({ maxLength: 32 }), { maxItems: 10 })),
      publicKeyAlgorithm: Type.Optional(Type.Integer()),
      publicKey: Type.Optional(base64url(4096)),
    }),
  },
  {
    description: 'The browser’s PublicKeyCredential.toJSON() from navigator.credentials.create().',
  },
);

export const AuthenticationResponse = Type.Object(
  {
    ...credentialCommon,
    response: Type.Object({
      clientDataJSON: base64url(8192),
      authenticatorData: base64url(16384),
      // Room for RSA-4096 and post-quantum (ML-DSA, 4.6 kB) signatures alike.
      signature: base64url(8192),
      userHandle: Type.Optional(
        Type.String({ maxLength: 1400, pattern: '^[A-Za-z0-9_-]*={0,2}$' }),
      ),
    }),
  },
  { description: 'The browser’s PublicKeyCredential.toJSON() from navigator.credentials.get().' },
);

/** A second factor's `response`, which arrives as `unknown` through the verifier port. */
export function authenticationResponseOf(value: unknown): AuthenticationResponseJSON {
  if (!Value.Check(AuthenticationResponse, value)) {
    throw new TesseraError(
      MfaErrors.webauthn_verification_failed,
      'The passkey response is not a WebAuthn assertion (PublicKeyCredential.toJSON()).',
    );
  }
  return value as AuthenticationResponseJSON;
}

export type CheckedRegistration = RegistrationResponseJSON;

/**
 * The challenge a response answers, read from its clientDataJSON (WebAuthn §5.8.1):
 * how the server finds the ceremony it belongs to. The signature over it is checked
 * later, by the library; here only its shape.
 */
export function challengeOf(clientDataJSON: string): string {
  let challenge: unknown;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8'));
    challenge = (parsed as { challenge?: unknown } | null)?.challenge;
  } catch {
    challenge = undefined;
  }
  if (typeof challenge !== 'string' || challenge.length === 0 || challenge.length > 1024) {
    throw new TesseraError(
      MfaErrors.webauthn_verification_failed,
      'The passkey response carries no readable clientDataJSON.',
    );
  }
  return challenge;
}

/** A challenge unknown, used, expired, or issued for another ceremony or caller. */
export function challengeInvalid(): TesseraError {
  return new TesseraError(
    MfaErrors.webauthn_challenge_invalid,
    'This passkey ceremony’s challenge is unknown, used, expired or not yours: ask for new options and try again.',
  );
}

/** The library refused the response (origin, RP ID, signature, flags, counter). */
export function verificationFailed(why: string): TesseraError {
  return new TesseraError(
    MfaErrors.webauthn_verification_failed,
    `The passkey response does not verify: ${why}`,
  );
}
