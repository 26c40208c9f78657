import { X509Certificate } from 'node:crypto';

/** A SAML connection's IdP: where to send people and which keys its answers must be signed with. */
export interface SamlSettings {
  readonly idp_entity_id: string;
  /** The IdP's HTTP-Redirect binding SSO URL. */
  readonly sso_url: string;
  /** PEM certificates the IdP signs with; several during a key rotation. */
  readonly certificates: readonly string[];
  /**
   * Default true. When false, the whole Response must be signed instead; an answer with
   * neither signed is never accepted.
   */
  readonly want_assertions_signed: boolean;
}

/** An admin's SAML settings are wrong; `path` is the JSON pointer of the offending field. */
export class SamlSettingsInvalid extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(message);
    this.path = path;
  }
}

const MAX_ENTITY_ID = 1024;
const MAX_URL = 2048;
const MAX_CERTIFICATES = 5;
/** A 4096-bit RSA certificate is about 2 KB of PEM; anything far larger is not one. */
const MAX_CERTIFICATE_CHARS = 16_384;

/** Validates and normalises admin input (parsed JSON) into settings. */
export function checkSamlSettings(
  input: unknown,
  options: { allowInsecureUrls: boolean },
): SamlSettings {
  if (!isRecord(input)) throw new SamlSettingsInvalid('/saml', 'SAML settings must be an object');
  const entityId = input.idp_entity_id;
  if (typeof entityId !== 'string' || entityId.trim() === '')
    throw new SamlSettingsInvalid('/saml/idp_entity_id', "the IdP's entity id is required");
  if (entityId.trim().length > MAX_ENTITY_ID)
    throw new SamlSettingsInvalid(
      '/saml/idp_entity_id',
      `the IdP's entity id is longer than ${MAX_ENTITY_ID} characters`,
    );
  const wantAssertionsSigned = input.want_assertions_signed ?? true;
  if (typeof wantAssertionsSigned !== 'boolean')
    throw new SamlSettingsInvalid('/saml/want_assertions_signed', 'must be true or false');
  return {
    idp_entity_id: entityId.trim(),
    sso_url: checkSsoUrl(input.sso_url, options.allowInsecureUrls),
    certificates: checkCertificates(input.certificates),
    want_assertions_signed: wantAssertionsSigned,
  };
}

function checkSsoUrl(value: unknown, allowInsecureUrls: boolean): string {
  const path = '/saml/sso_url';
  if (typeof value !== 'string' || value.trim() === '')
    throw new SamlSettingsInvalid(path, "the IdP's SSO URL is required");
  if (value.length > MAX_URL)
    throw new SamlSettingsInvalid(path, `the SSO URL is longer than ${MAX_URL} characters`);
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new SamlSettingsInvalid(path, 'the SSO URL is not a URL');
  }
  const secure = url.protocol === 'https:';
  const allowedInsecure = url.protocol === 'http:' && allowInsecureUrls;
  if (!secure && !allowedInsecure)
    throw new SamlSettingsInvalid(path, 'the SSO URL must use https');
  // Credentials in the URL would travel to every browser sent there.
  if (url.username !== '' || url.password !== '')
    throw new SamlSettingsInvalid(path, 'the SSO URL must not carry credentials');
  return url.href;
}

function checkCertificates(value: unknown): string[] {
  const path = '/saml/certificates';
  if (!Array.isArray(value) || value.length === 0)
    throw new SamlSettingsInvalid(
      path,
      "at least one of the IdP's signing certificates is required",
    );
  if (value.length > MAX_CERTIFICATES)
    throw new SamlSettingsInvalid(path, `at most ${MAX_CERTIFICATES} certificates`);
  return value.map((certificate, index) => normaliseCertificate(certificate, `${path}/${index}`));
}

/**
 * One certificate as PEM. Metadata and admin consoles often hand out the bare base64
 * body (the `ds:X509Certificate` text), so that is accepted and wrapped.
 */
export function normaliseCertificate(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw new SamlSettingsInvalid(path, 'a certificate must be a PEM string');
  if (value.length > MAX_CERTIFICATE_CHARS)
    throw new SamlSettingsInvalid(path, 'the certificate is too long');
  const text = value.trim();
  const pem = text.startsWith('-----BEGIN') ? text : wrapPem(text);
  try {
    return new X509Certificate(pem).toString().trim();
  } catch {
    throw new SamlSettingsInvalid(path, 'not a valid X.509 certificate');
  }
}

function wrapPem(base64: string): string {
  const body = base64.replace(/\s+/g, '');
  const lines = body.match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
