import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { samlTestCertificate, startSamlIdp } from '../../../test/helpers/saml-idp.ts';
import { parseIdpMetadata } from './idp-metadata.ts';
import { SamlSettingsInvalid } from './saml-settings.ts';

const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const body = (key: 'idp' | 'rotated') =>
  samlTestCertificate(key)
    .replace(/-----[^-]+-----/g, '')
    .replace(/\s+/g, '');
const keyDescriptor = (key: 'idp' | 'rotated', use?: string) =>
  `<md:KeyDescriptor${use ? ` use="${use}"` : ''}><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>${body(key)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`;
const entity = (inner: string, entityId = 'https://idp.example.test') =>
  `<md:EntityDescriptor xmlns:md="${MD}" entityID="${entityId}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">${inner}</md:IDPSSODescriptor></md:EntityDescriptor>`;
const redirect =
  '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.test/sso/redirect"/>';
const post =
  '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example.test/sso/post"/>';

function refused(xml: string, message: RegExp): void {
  assert.throws(
    () => parseIdpMetadata(xml),
    (error: unknown) =>
      error instanceof SamlSettingsInvalid &&
      error.path === '/saml/metadata_xml' &&
      message.test(error.message),
  );
}

describe('IdP metadata', () => {
  it("reads the test IdP's metadata", async (t) => {
    const idp = await startSamlIdp();
    t.after(() => idp.close());
    assert.deepEqual(parseIdpMetadata(idp.metadata()), {
      idp_entity_id: idp.entityId,
      sso_url: idp.ssoUrl,
      certificates: [idp.certificate.trim()],
    });
  });

  it('takes the HTTP-Redirect endpoint and the signing keys (use="signing" or no use), not encryption keys', () => {
    const xml = entity(
      `${keyDescriptor('idp', 'signing')}${keyDescriptor('rotated')}${keyDescriptor('idp', 'encryption')}${post}${redirect}`,
    );
    assert.deepEqual(parseIdpMetadata(xml), {
      idp_entity_id: 'https://idp.example.test',
      sso_url: 'https://idp.example.test/sso/redirect',
      certificates: [samlTestCertificate('idp').trim(), samlTestCertificate('rotated').trim()],
    });
  });

  it('reads the one IdP inside an EntitiesDescriptor', () => {
    const xml = `<md:EntitiesDescriptor xmlns:md="${MD}">${entity(`${keyDescriptor('idp')}${redirect}`)}</md:EntitiesDescriptor>`;
    assert.equal(parseIdpMetadata(xml).idp_entity_id, 'https://idp.example.test');
  });

  it('refuses any DTD or entity declaration before parsing', () => {
    const valid = entity(`${keyDescriptor('idp')}${redirect}`);
    refused(`<?xml version="1.0"?><!DOCTYPE md:EntityDescriptor [<!ENTITY x "y">]>${valid}`, /DTD/);
    refused(`<!DOCTYPE foo SYSTEM "http://127.0.0.1:1/evil.dtd">${valid}`, /DTD/);
  });

  it('refuses metadata without what a connection needs', () => {
    refused(entity(keyDescriptor('idp')), /HTTP-Redirect/);
    refused(entity(`${keyDescriptor('idp', 'encryption')}${redirect}`), /no signing certificate/);
    refused(entity(`${keyDescriptor('idp')}${redirect}`, ''), /entityID/);
    refused(`<md:EntityDescriptor xmlns:md="${MD}" entityID="x"/>`, /IDPSSODescriptor/);
    refused('<EntityDescriptor entityID="x"/>', /not SAML metadata/);
    refused('<md:EntityDescriptor', /well-formed/);
    refused('', /empty/);
  });
});
