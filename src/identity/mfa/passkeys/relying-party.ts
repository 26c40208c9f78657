import { isIP } from 'node:net';
import type { Config } from '../../../config/schema.ts';
import { TesseraError } from '../../../platform/errors.ts';
import { MfaErrors } from '../mfa-errors.ts';

/** Who passkeys are bound to (WebAuthn Level 2 §5.1.4.1 RP ID) and where ceremonies may run. */
export interface RelyingParty {
  readonly id: string;
  readonly name: string;
  /** Exact origins (scheme://host[:port]) clientDataJSON.origin must be one of. */
  readonly origins: readonly string[];
}

/**
 * The relying party from configuration: `webauthn.rp_id` or else the host of
 * `server.public_url`; `webauthn.origins` or else the origin of `server.public_url`.
 * Undefined when neither names a domain: an IP address is never a valid RP ID
 * (WebAuthn §5.1.4.1 wants a registrable domain suffix), and the default public URL,
 * `http://<server.host>:<port>`, is usually one. Passkeys are then off (`passkeysOff`).
 */
export function relyingPartyOf(
  config: Pick<Config, 'server' | 'webauthn'>,
): RelyingParty | undefined {
  const publicUrl = config.server.public_url ? new URL(config.server.public_url) : undefined;
  const id = config.webauthn.rp_id || publicUrl?.hostname || '';
  const origins = config.webauthn.origins.length
    ? config.webauthn.origins
    : publicUrl
      ? [publicUrl.origin]
      : [];
  if (id === '' || isIP(id.replace(/^\[|\]$/g, '')) !== 0 || origins.length === 0) return undefined;
  return { id: id.toLowerCase(), name: config.webauthn.rp_name, origins };
}

/** The answer of every passkey route on a server with no relying party configured. */
export function passkeysOff(): TesseraError {
  return new TesseraError(
    MfaErrors.mfa_method_unavailable,
    'Passkeys are not configured on this server: set webauthn.rp_id and webauthn.origins (or server.public_url with a domain name).',
  );
}
