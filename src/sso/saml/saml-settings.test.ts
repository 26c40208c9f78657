import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { samlTestCertificate } from '../../../test/helpers/saml-idp.ts';
import { checkSamlSettings, SamlSettingsInvalid } from './saml-settings.ts';

const certificate = samlTestCertificate('idp');
const valid = {
  idp_entity_id: ' https://idp.example.test/metadata ',
  sso_url: 'https://idp.example.test/sso',
  certificates: [certificate],
};

function refusedAt(input: unknown, path: string, allowInsecureUrls = false): void {
  assert.throws(
    () => checkSamlSettings(input, { allowInsecureUrls }),
    (error: unknown) => error instanceof SamlSettingsInvalid && error.path === path,
    `expected a refusal at ${path}`,
  );
}

describe('SAML settings', () => {
  it('normalises valid input: trimmed entity id, PEM certificates, assertions signed by default', () => {
    const settings = checkSamlSettings(valid, { allowInsecureUrls: false });
    assert.deepEqual(settings, {
      idp_entity_id: 'https://idp.example.test/metadata',
      sso_url: 'https://idp.example.test/sso',
      certificates: [certificate.trim()],
      want_assertions_signed: true,
    });
    const responseSigned = checkSamlSettings(
      { ...valid, want_assertions_signed: false },
      { allowInsecureUrls: false },
    );
    assert.equal(responseSigned.want_assertions_signed, false);
  });

  it('accepts a bare base64 certificate body (as metadata carries it) and up to five for rotation', () => {
    const body = certificate.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
    const settings = checkSamlSettings(
      { ...valid, certificates: [body, samlTestCertificate('rotated')] },
      { allowInsecureUrls: false },
    );
    assert.deepEqual(settings.certificates, [
      certificate.trim(),
      samlTestCertificate('rotated').trim(),
    ]);
    refusedAt({ ...valid, certificates: Array(6).fill(certificate) }, '/saml/certificates');
  });

  it('refuses http SSO URLs unless insecure URLs are allowed, and anything not a URL', () => {
    refusedAt({ ...valid, sso_url: 'http://idp.example.test/sso' }, '/saml/sso_url');
    const local = checkSamlSettings(
      { ...valid, sso_url: 'http://127.0.0.1:9000/sso' },
      { allowInsecureUrls: true },
    );
    assert.equal(local.sso_url, 'http://127.0.0.1:9000/sso');
    refusedAt({ ...valid, sso_url: 'javascript:alert(1)' }, '/saml/sso_url', true);
    refusedAt({ ...valid, sso_url: 'not a url' }, '/saml/sso_url');
    refusedAt({ ...valid, sso_url: 'https://user:secret@idp.example.test/sso' }, '/saml/sso_url');
    refusedAt({ ...valid, sso_url: undefined }, '/saml/sso_url');
  });

  it('refuses certificates that do not parse, or none', () => {
    refusedAt(
      { ...valid, certificates: ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'] },
      '/saml/certificates/0',
    );
    refusedAt({ ...valid, certificates: [certificate, 'garbage'] }, '/saml/certificates/1');
    refusedAt({ ...valid, certificates: [] }, '/saml/certificates');
    refusedAt({ ...valid, certificates: certificate }, '/saml/certificates');
  });

  it('refuses an empty or overlong entity id, a non-boolean flag, a non-object', () => {
    refusedAt({ ...valid, idp_entity_id: '  ' }, '/saml/idp_entity_id');
    refusedAt(
      { ...valid, idp_entity_id: `https://idp.test/${'x'.repeat(1024)}` },
      '/saml/idp_entity_id',
    );
    refusedAt({ ...valid, want_assertions_signed: 'no' }, '/saml/want_assertions_signed');
    refusedAt(null, '/saml');
    refusedAt([valid], '/saml');
  });
});
