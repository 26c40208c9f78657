import type { Element } from '@xmldom/xmldom';
import { normaliseCertificate, SamlSettingsInvalid } from './saml-settings.ts';
import {
  childElements,
  HTTP_REDIRECT_BINDING,
  NS,
  parseXml,
  textOf,
  UnsafeOrMalformedXml,
} from './saml-xml.ts';

const PATH = '/saml/metadata_xml';
/** Metadata documents of a single IdP are a few KB; aggregates of a federation are not welcome here. */
const MAX_METADATA_CHARS = 1_000_000;
const MAX_CERTIFICATES = 5;

/**
 * Reads an IdP's metadata (an EntityDescriptor with an IDPSSODescriptor) into the fields
 * of SamlSettings: its entity id, its HTTP-Redirect SSO URL and its signing certificates.
 * The metadata's own signature is not checked: the admin uploads it over an
 * authenticated channel, and the settings it yields are shown to them to confirm.
 */
export function parseIdpMetadata(xml: string): {
  idp_entity_id: string;
  sso_url: string;
  certificates: string[];
} {
  if (typeof xml !== 'string' || xml.trim() === '')
    throw new SamlSettingsInvalid(PATH, 'the metadata document is empty');
  if (xml.length > MAX_METADATA_CHARS)
    throw new SamlSettingsInvalid(PATH, 'the metadata document is too large');
  let root: Element;
  try {
    const doc = parseXml(xml);
    if (doc.documentElement === null) throw new UnsafeOrMalformedXml('no root element');
    root = doc.documentElement;
  } catch (error) {
    if (error instanceof UnsafeOrMalformedXml) throw new SamlSettingsInvalid(PATH, error.message);
    throw error;
  }
  const entity = idpEntityOf(root);
  const entityId = entity.getAttribute('entityID')?.trim() ?? '';
  if (entityId === '') throw new SamlSettingsInvalid(PATH, 'the EntityDescriptor has no entityID');
  const [descriptor] = childElements(entity, NS.metadata, 'IDPSSODescriptor');
  if (descriptor === undefined) throw new SamlSettingsInvalid(PATH, 'no IDPSSODescriptor');
  if (
    !(descriptor.getAttribute('protocolSupportEnumeration') ?? '')
      .split(/\s+/)
      .includes(NS.protocol)
  )
    throw new SamlSettingsInvalid(PATH, 'the IdP does not declare SAML 2.0 support');
  const redirect = childElements(descriptor, NS.metadata, 'SingleSignOnService').find(
    (service) => service.getAttribute('Binding') === HTTP_REDIRECT_BINDING,
  );
  const ssoUrl = redirect?.getAttribute('Location')?.trim() ?? '';
  if (ssoUrl === '')
    throw new SamlSettingsInvalid(PATH, 'the IdP has no HTTP-Redirect SingleSignOnService');
  const certificates = signingCertificates(descriptor);
  return { idp_entity_id: entityId, sso_url: ssoUrl, certificates };
}

/** The root EntityDescriptor, or the only IdP one inside an EntitiesDescriptor. */
function idpEntityOf(root: Element): Element {
  if (root.namespaceURI === NS.metadata && root.localName === 'EntityDescriptor') return root;
  if (root.namespaceURI === NS.metadata && root.localName === 'EntitiesDescriptor') {
    const idps = childElements(root, NS.metadata, 'EntityDescriptor').filter(
      (entity) => childElements(entity, NS.metadata, 'IDPSSODescriptor').length > 0,
    );
    if (idps.length === 1 && idps[0] !== undefined) return idps[0];
    throw new SamlSettingsInvalid(
      PATH,
      `expected one IdP in the EntitiesDescriptor, found ${idps.length}`,
    );
  }
  throw new SamlSettingsInvalid(PATH, 'the document is not SAML metadata (no EntityDescriptor)');
}

/** Certificates of KeyDescriptors for signing (use="signing" or no use: both purposes). */
function signingCertificates(descriptor: Element): string[] {
  const pems: string[] = [];
  const keyDescriptors = childElements(descriptor, NS.metadata, 'KeyDescriptor').filter((key) => {
    const use = key.getAttribute('use');
    return use === null || use === '' || use === 'signing';
  });
  for (const key of keyDescriptors)
    for (const info of childElements(key, NS.dsig, 'KeyInfo'))
      for (const data of childElements(info, NS.dsig, 'X509Data'))
        for (const certificate of childElements(data, NS.dsig, 'X509Certificate')) {
          const pem = normaliseCertificate(textOf(certificate), PATH);
          if (!pems.includes(pem)) pems.push(pem);
        }
  if (pems.length === 0)
    throw new SamlSettingsInvalid(PATH, 'the IdP lists no signing certificate');
  if (pems.length > MAX_CERTIFICATES)
    throw new SamlSettingsInvalid(PATH, `more than ${MAX_CERTIFICATES} signing certificates`);
  return pems;
}
