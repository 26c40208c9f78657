import type { SamlConnection } from './saml-federation.ts';
import { refuse } from './saml-refusals.ts';
import { hasMarkupDeclaration, NS, parseXml, UnsafeOrMalformedXml } from './saml-xml.ts';

/** A SAMLResponse larger than this is no sign-in (a few KB is usual). */
const MAX_RESPONSE_CHARS = 1_000_000;

/**
 * The checks made on the (possibly unsigned) Response envelope before node-saml sees it:
 * no DTD (refused before any parser runs), a Response, sent to our ACS URL, by this IdP,
 * answering the request we expect (or none, when IdP-initiated answers are allowed).
 * Answers the response's InResponseTo.
 */
export function checkEnvelope(
  connection: SamlConnection,
  samlResponse: string,
  expectedRequestId: string | null,
  acsUrl: string,
): string | null {
  if (
    typeof samlResponse !== 'string' ||
    samlResponse === '' ||
    samlResponse.length > MAX_RESPONSE_CHARS
  )
    throw refuse('malformed', 'SAMLResponse missing or too large');
  const xml = Buffer.from(samlResponse, 'base64').toString('utf8');
  if (hasMarkupDeclaration(xml))
    throw refuse('malformed', 'DTD or entity declarations are refused');
  let root: ReturnType<typeof parseXml>['documentElement'];
  try {
    root = parseXml(xml).documentElement;
  } catch (error) {
    if (error instanceof UnsafeOrMalformedXml) throw refuse('malformed', error.message, error);
    throw error;
  }
  if (root === null || root.namespaceURI !== NS.protocol || root.localName !== 'Response')
    throw refuse('malformed', 'not a SAML Response');
  const inResponseTo = root.getAttribute('InResponseTo') || null;
  if (expectedRequestId === null) {
    if (!connection.idpInitiated)
      throw refuse(
        'unsolicited_response',
        'IdP-initiated sign-in is not enabled on this connection',
      );
    if (inResponseTo !== null)
      throw refuse('in_response_to_mismatch', `answers request ${inResponseTo}, none was expected`);
  } else if (inResponseTo === null) {
    throw refuse('unsolicited_response', 'the response answers no request; one was sent');
  } else if (inResponseTo !== expectedRequestId) {
    throw refuse(
      'in_response_to_mismatch',
      `answers request ${inResponseTo}, not ${expectedRequestId}`,
    );
  }
  const destination = root.getAttribute('Destination');
  if (destination !== null && destination !== acsUrl)
    throw refuse('destination_mismatch', `response sent to ${destination}`);
  const issuer = Array.from(root.childNodes).find(
    (node) =>
      node.nodeType === node.ELEMENT_NODE &&
      node.namespaceURI === NS.assertion &&
      node.localName === 'Issuer',
  );
  const issuerText = issuer?.textContent?.trim();
  // The Response's Issuer is optional; when present it must be the IdP.
  if (issuerText !== undefined && issuerText !== connection.settings.idp_entity_id)
    throw refuse('issuer_mismatch', `response issued by ${issuerText}`);
  return inResponseTo;
}
