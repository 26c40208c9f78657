import { SamlStatusError } from '@node-saml/node-saml';
import { FederationRefused } from '../federated-identity.ts';

/** Why a SAML answer was refused: the audit trail's reason. */
export type SamlRefusalReason =
  | 'malformed'
  | 'signature_invalid'
  | 'audience_mismatch'
  | 'expired'
  | 'not_yet_valid'
  | 'replayed'
  | 'in_response_to_mismatch'
  | 'unsolicited_response'
  | 'recipient_mismatch'
  | 'destination_mismatch'
  | 'issuer_mismatch'
  | 'idp_error'
  | 'invalid_response';

export function refuse(
  reason: SamlRefusalReason,
  detail: string,
  cause?: unknown,
): FederationRefused {
  return new FederationRefused(reason, detail, cause === undefined ? undefined : { cause });
}

/**
 * node-saml reports every failure as a plain Error whose message is the only clue, so
 * its messages (node-saml 5.1, lib/saml.js and lib/xml.js) are read here and nowhere
 * else. Anything not recognised is an `invalid_response`: a library error never escapes
 * raw, and an unknown failure is still a refusal.
 */
const LIBRARY_MESSAGES: readonly (readonly [RegExp, SamlRefusalReason])[] = [
  [/^SAML provider returned /, 'idp_error'],
  [/^Invalid signature: NoPassive/, 'idp_error'],
  [/multiple assertions/, 'signature_invalid'],
  [/^Invalid (document )?signature|signature/i, 'signature_invalid'],
  [/ID cannot refer to more than one element|Referenced node does not refer/, 'signature_invalid'],
  [/^Cannot obtain assertion from signed data/, 'signature_invalid'],
  [
    /^SAML assertion (audience mismatch|has no AudienceRestriction|AudienceRestriction has no Audience)/,
    'audience_mismatch',
  ],
  [/^SAML assertion not yet valid/, 'not_yet_valid'],
  [/^SAML assertion expired/, 'expired'],
  // node-saml checks only the confirmations' times when it looks for a valid one.
  [/^No valid subject confirmation found/, 'expired'],
  [/^InResponseTo is missing from response/, 'unsolicited_response'],
  [/InResponseTo (is not valid|does not match)/i, 'in_response_to_mismatch'],
  [/^(Unknown|Missing) SAML issuer/, 'issuer_mismatch'],
  [/^Not a valid XML document|^Error parsing /, 'malformed'],
];

/** The refusal for whatever node-saml threw. */
export function refusalFromLibrary(error: unknown): FederationRefused {
  if (error instanceof FederationRefused) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof SamlStatusError) return refuse('idp_error', message, error);
  for (const [pattern, reason] of LIBRARY_MESSAGES)
    if (pattern.test(message)) return refuse(reason, message, error);
  return refuse('invalid_response', `SAML response refused: ${message}`, error);
}
