import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/**
 * A new signing secret in the Standard Webhooks form: `whsec_` and the base64 of 32
 * random bytes (the spec asks for 24 to 64), which receivers' libraries take as it is.
 */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/**
 * The `webhook-signature` header: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`
 * for each secret, space-separated (the spec's form for several), computed by the
 * `standardwebhooks` library. During a rotation's grace period both the new and the
 * old secret sign, so a receiver still holding the old one keeps verifying.
 */
export function signatureHeader(
  secrets: readonly string[],
  messageId: string,
  timestamp: Date,
  body: string,
): string {
  return secrets.map((secret) => new Webhook(secret).sign(messageId, timestamp, body)).join(' ');
}
