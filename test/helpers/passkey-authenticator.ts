import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
} from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';

/**
 * A software authenticator for API tests: it answers a Tessera options document with
 * what a browser would post (PublicKeyCredential.toJSON()), built here from the
 * WebAuthn Level 2 spec, not by the library under test: a P-256 key (node:crypto),
 * the `none` attestation format (§8.7), authenticator data with attested credential
 * data (§6.1, §6.5.1), and assertions signed over authenticatorData ‖
 * SHA-256(clientDataJSON) (§6.3.3). Discoverable: it remembers each credential's
 * user handle and offers it when no credential is named.
 */

type Json = Record<string, unknown>;

interface StoredCredential {
  readonly id: Buffer;
  readonly privateKey: KeyObject;
  readonly cosePublicKey: Uint8Array;
  readonly rpId: string;
  readonly userHandle: string;
  counter: number;
}

export interface CeremonyOptions {
  /** clientDataJSON.origin (default: the authenticator's). */
  readonly origin?: string;
  /** The UV flag (default true). */
  readonly userVerified?: boolean;
  /** Backup eligible and backed up: a synced passkey, `multiDevice` (default false). */
  readonly synced?: boolean;
  /** Which credential answers a `get` (default: the first allowed, else the first for the RP). */
  readonly credentialId?: string;
  /** Overrides the counter the assertion reports (then remembered). */
  readonly counter?: number;
}

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_BE = 0x08;
const FLAG_BS = 0x10;
const FLAG_AT = 0x40;

const b64url = (bytes: Uint8Array | Buffer | string) => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest();

export class PasskeyAuthenticator {
  readonly origin: string;
  readonly credentials: StoredCredential[] = [];

  constructor(origin: string) {
    this.origin = origin;
  }

  /** Answers `POST /auth/passkeys/register/options` like navigator.credentials.create(). */
  create(options: Json, ceremony: CeremonyOptions = {}): Json {
    const rp = options.rp as { id: string };
    const user = options.user as { id: string };
    // `credentialId`: an authenticator that ignores excludeCredentials and offers an old one.
    const old = this.credentials.find((c) => b64url(c.id) === ceremony.credentialId);
    const { privateKey, publicKey } = old
      ? { privateKey: old.privateKey, publicKey: createPublicKey(old.privateKey) }
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    // RFC 9053 §7.1.1 EC2 key: kty 2, alg -7 (ES256), crv 1 (P-256), x, y.
    const cosePublicKey = isoCBOR.encode(
      new Map<number, number | Uint8Array>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, Buffer.from(jwk.x as string, 'base64url')],
        [-3, Buffer.from(jwk.y as string, 'base64url')],
      ]),
    );
    const credential: StoredCredential = {
      id: old?.id ?? randomBytes(32),
      privateKey,
      cosePublicKey,
      rpId: rp.id,
      userHandle: user.id,
      counter: 0,
    };
    if (!old) this.credentials.push(credential);
    const attested = Buffer.concat([
      Buffer.alloc(16), // AAGUID: none
      u16(credential.id.length),
      credential.id,
      Buffer.from(cosePublicKey),
    ]);
    const authData = Buffer.concat([
      sha256(rp.id),
      Buffer.from([flags(ceremony) | FLAG_AT]),
      u32(0),
      attested,
    ]);
    const attestationObject = isoCBOR.encode(
      new Map<string, string | Uint8Array | Map<string, string>>([
        ['fmt', 'none'],
        ['attStmt', new Map<string, string>()],
        ['authData', authData],
      ]),
    );
    return {
      id: b64url(credential.id),
      rawId: b64url(credential.id),
      type: 'public-key',
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
      response: {
        clientDataJSON: this.clientData('webauthn.create', options, ceremony),
        attestationObject: b64url(attestationObject),
        transports: ['internal'],
      },
    };
  }

  /** Answers a request options document like navigator.credentials.get(). */
  get(options: Json, ceremony: CeremonyOptions = {}): Json {
    const rpId = options.rpId as string;
    const allowed = ((options.allowCredentials as { id: string }[] | undefined) ?? []).map(
      (c) => c.id,
    );
    const credential = this.credentials.find(
      (c) =>
        c.rpId === rpId &&
        (ceremony.credentialId
          ? b64url(c.id) === ceremony.credentialId
          : allowed.length === 0 || allowed.includes(b64url(c.id))),
    );
    if (!credential) throw new Error('no credential for these options');
    credential.counter = ceremony.counter ?? credential.counter + 1;
    const authData = Buffer.concat([
      sha256(rpId),
      Buffer.from([flags(ceremony)]),
      u32(credential.counter),
    ]);
    const clientDataJSON = this.clientData('webauthn.get', options, ceremony);
    const signature = sign(
      'sha256',
      Buffer.concat([authData, sha256(Buffer.from(clientDataJSON, 'base64url'))]),
      credential.privateKey,
    );
    return {
      id: b64url(credential.id),
      rawId: b64url(credential.id),
      type: 'public-key',
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
      response: {
        clientDataJSON,
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        userHandle: credential.userHandle,
      },
    };
  }

  private clientData(type: string, options: Json, ceremony: CeremonyOptions): string {
    return b64url(
      JSON.stringify({
        type,
        challenge: options.challenge,
        origin: ceremony.origin ?? this.origin,
        crossOrigin: false,
      }),
    );
  }
}

function flags(ceremony: CeremonyOptions): number {
  let value = FLAG_UP;
  if (ceremony.userVerified !== false) value |= FLAG_UV;
  if (ceremony.synced) value |= FLAG_BE | FLAG_BS;
  return value;
}

function u16(value: number): Buffer {
  const buffer = Buffer.alloc(2);
  buffer.writeUInt16BE(value);
  return buffer;
}

function u32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value);
  return buffer;
}
