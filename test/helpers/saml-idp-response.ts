/**
 * TEST TOOL ONLY: the SAML responses of the test IdP (saml-idp.ts), good and forged,
 * signed with xml-crypto and the test-only keys under test/fixtures/saml/.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DOMParser, type Element, XMLSerializer } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';

const FIXTURES = new URL('../fixtures/saml/', import.meta.url);

/** The test-only key pairs: the IdP's, a second one of the IdP's (rotation), an attacker's. */
export type SamlTestKey = 'idp' | 'rotated' | 'attacker';

const FIXTURE_NAMES: Record<SamlTestKey, string> = {
  idp: 'idp',
  rotated: 'idp-rotated',
  attacker: 'attacker',
};

export function samlTestCertificate(key: SamlTestKey): string {
  return readFileSync(new URL(`${FIXTURE_NAMES[key]}-cert.pem`, FIXTURES), 'utf8');
}

function samlTestPrivateKey(key: SamlTestKey): string {
  return readFileSync(new URL(`${FIXTURE_NAMES[key]}-key.pem`, FIXTURES), 'utf8');
}

export const NAMEID_EMAIL = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
export const NAMEID_PERSISTENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
export const STATUS_SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';

export const PROTOCOL_NS = 'urn:oasis:names:tc:SAML:2.0:protocol';
export const ASSERTION_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';

export interface SamlIdpUser {
  readonly nameId: string;
  readonly nameIdFormat?: string;
  readonly attributes: Record<string, string | string[]>;
}

/** Who the response is for: the SP's entity id (audience) and its ACS URL. */
export interface SamlSp {
  readonly entityId: string;
  readonly acsUrl: string;
}

export interface BuildResponseOptions {
  /** Defaults to the IdP's `sp` (settable on the IdP). */
  readonly sp?: SamlSp;
  readonly inResponseTo?: string;
  readonly audience?: string;
  readonly recipient?: string;
  readonly destination?: string;
  /** The Issuer of both Response and Assertion (default: the IdP's entity id). */
  readonly issuer?: string;
  readonly notBefore?: Date;
  readonly notOnOrAfter?: Date;
  readonly assertionId?: string;
  readonly sign: 'assertion' | 'response' | 'both' | 'none';
  /** The key that signs (default 'idp'). */
  readonly key?: SamlTestKey;
  /**
   * XML signature wrapping: an unsigned evil assertion for `evil@attacker.test` is placed
   * before or after the signed one, or becomes the Response's assertion with the signed
   * one nested inside it.
   */
  readonly wrap?: 'before' | 'after' | 'inside';
  /** A DTD in front of the document: `true`/'billion_laughs' (entity expansion), 'xxe' (external entity). */
  readonly doctype?: boolean | 'billion_laughs' | 'xxe';
  /** A non-Success top-level StatusCode: the response then carries no assertion. */
  readonly status?: string;
  readonly nameId?: string;
  readonly nameIdFormat?: string;
  readonly attributes?: Record<string, string | string[]>;
}

const FIVE_MINUTES = 5 * 60_000;

/** What the IdP answers with unless the options say otherwise. */
export interface ResponseDefaults {
  readonly entityId: string;
  readonly user: SamlIdpUser;
  readonly sp: SamlSp | undefined;
}

/** A base64 SAMLResponse as a browser would POST it; `options` say what to get wrong. */
export function buildSamlResponse(idp: ResponseDefaults, options: BuildResponseOptions): string {
  const sp = options.sp ?? idp.sp;
  if (sp === undefined) throw new Error('buildResponse needs an sp (options.sp or idp.sp)');
  const now = Date.now();
  const issuer = options.issuer ?? idp.entityId;
  const assertionId = options.assertionId ?? newId();
  const status = options.status ?? STATUS_SUCCESS;
  const inResponseTo =
    options.inResponseTo === undefined ? '' : ` InResponseTo="${escapeXml(options.inResponseTo)}"`;
  const assertion =
    status === STATUS_SUCCESS
      ? assertionXml({
          id: assertionId,
          issuer,
          nameId: options.nameId ?? idp.user.nameId,
          nameIdFormat: options.nameIdFormat ?? idp.user.nameIdFormat ?? NAMEID_PERSISTENT,
          attributes: options.attributes ?? idp.user.attributes,
          audience: options.audience ?? sp.entityId,
          recipient: options.recipient ?? sp.acsUrl,
          inResponseTo,
          notBefore: options.notBefore ?? new Date(now - FIVE_MINUTES),
          notOnOrAfter: options.notOnOrAfter ?? new Date(now + FIVE_MINUTES),
        })
      : '';
  let xml = `<samlp:Response xmlns:samlp="${PROTOCOL_NS}" xmlns:saml="${ASSERTION_NS}" ID="${newId()}" Version="2.0" IssueInstant="${new Date(now).toISOString()}" Destination="${escapeXml(options.destination ?? sp.acsUrl)}"${inResponseTo}><saml:Issuer>${escapeXml(issuer)}</saml:Issuer><samlp:Status><samlp:StatusCode Value="${escapeXml(status)}"/></samlp:Status>${assertion}</samlp:Response>`;
  const key = options.key ?? 'idp';
  if (options.sign === 'assertion' || options.sign === 'both') xml = sign(xml, 'Assertion', key);
  if (options.sign === 'response' || options.sign === 'both') xml = sign(xml, 'Response', key);
  if (options.wrap !== undefined)
    xml = wrap(xml, options.wrap, {
      audience: options.audience ?? sp.entityId,
      recipient: options.recipient ?? sp.acsUrl,
      issuer,
      inResponseTo,
      now,
    });
  if (options.doctype !== undefined && options.doctype !== false)
    xml = withDoctype(xml, options.doctype);
  return Buffer.from(xml, 'utf8').toString('base64');
}

interface AssertionParts {
  readonly id: string;
  readonly issuer: string;
  readonly nameId: string;
  readonly nameIdFormat: string;
  readonly attributes: Record<string, string | string[]>;
  readonly audience: string;
  readonly recipient: string;
  /** The ` InResponseTo="..."` attribute text, or ''. */
  readonly inResponseTo: string;
  readonly notBefore: Date;
  readonly notOnOrAfter: Date;
}

function assertionXml(parts: AssertionParts): string {
  const attributes = Object.entries(parts.attributes)
    .map(([name, value]) => {
      const values = (Array.isArray(value) ? value : [value])
        .map(
          (one) =>
            `<saml:AttributeValue xsi:type="xs:string">${escapeXml(one)}</saml:AttributeValue>`,
        )
        .join('');
      return `<saml:Attribute Name="${escapeXml(name)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified">${values}</saml:Attribute>`;
    })
    .join('');
  const notOnOrAfter = parts.notOnOrAfter.toISOString();
  return `<saml:Assertion xmlns:saml="${ASSERTION_NS}" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="${escapeXml(parts.id)}" Version="2.0" IssueInstant="${new Date().toISOString()}"><saml:Issuer>${escapeXml(parts.issuer)}</saml:Issuer><saml:Subject><saml:NameID Format="${escapeXml(parts.nameIdFormat)}">${escapeXml(parts.nameId)}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData${parts.inResponseTo} NotOnOrAfter="${notOnOrAfter}" Recipient="${escapeXml(parts.recipient)}"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="${parts.notBefore.toISOString()}" NotOnOrAfter="${notOnOrAfter}"><saml:AudienceRestriction><saml:Audience>${escapeXml(parts.audience)}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="${new Date().toISOString()}" SessionIndex="${newId()}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>${attributes === '' ? '' : `<saml:AttributeStatement>${attributes}</saml:AttributeStatement>`}</saml:Assertion>`;
}

/** An enveloped RSA-SHA256 signature of the element, placed right after its Issuer (schema order). */
function sign(xml: string, element: 'Assertion' | 'Response', key: SamlTestKey): string {
  const target = `//*[local-name(.)='${element}']`;
  const signer = new SignedXml({
    privateKey: samlTestPrivateKey(key),
    publicCert: samlTestCertificate(key),
    signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    canonicalizationAlgorithm: EXC_C14N,
  });
  signer.addReference({
    xpath: target,
    transforms: [ENVELOPED, EXC_C14N],
    digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
  });
  signer.computeSignature(xml, {
    prefix: 'ds',
    location: { reference: `${target}/*[local-name(.)='Issuer']`, action: 'after' },
  });
  return signer.getSignedXml();
}

/** XML signature wrapping: an unsigned evil assertion beside or around the signed one. */
function wrap(
  xml: string,
  where: 'before' | 'after' | 'inside',
  context: {
    audience: string;
    recipient: string;
    issuer: string;
    inResponseTo: string;
    now: number;
  },
): string {
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const response = doc.documentElement;
  const signed = response?.getElementsByTagNameNS(ASSERTION_NS, 'Assertion')[0];
  if (response === null || response === undefined || signed === undefined)
    throw new Error('wrap needs a response with an assertion');
  const evilXml = assertionXml({
    id: newId(),
    issuer: context.issuer,
    nameId: 'evil@attacker.test',
    nameIdFormat: NAMEID_EMAIL,
    attributes: { email: 'evil@attacker.test', groups: ['admins'] },
    audience: context.audience,
    recipient: context.recipient,
    inResponseTo: context.inResponseTo,
    notBefore: new Date(context.now - FIVE_MINUTES),
    notOnOrAfter: new Date(context.now + FIVE_MINUTES),
  });
  const evil = doc.importNode(
    new DOMParser().parseFromString(evilXml, 'text/xml').documentElement as Element,
    true,
  );
  if (where === 'before') response.insertBefore(evil, signed);
  else if (where === 'after') response.insertBefore(evil, signed.nextSibling);
  else {
    response.replaceChild(evil, signed);
    evil.appendChild(signed);
  }
  return new XMLSerializer().serializeToString(doc);
}

function withDoctype(xml: string, kind: true | 'billion_laughs' | 'xxe'): string {
  if (kind === 'xxe')
    return `<?xml version="1.0"?><!DOCTYPE samlp:Response [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${xml.replace('</saml:Issuer>', '&xxe;</saml:Issuer>')}`;
  const laughs = Array.from(
    { length: 9 },
    (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i};`.repeat(10)}">`,
  ).join('');
  return `<?xml version="1.0"?><!DOCTYPE samlp:Response [<!ENTITY lol0 "lol">${laughs}]>${xml.replace('</saml:Issuer>', '&lol9;</saml:Issuer>')}`;
}

function newId(): string {
  // SAML IDs are xs:ID: they must not start with a digit.
  return `_${randomBytes(16).toString('hex')}`;
}

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
