import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkOidcSettings, OidcSettingsInvalid } from './oidc-settings.ts';

const secure = { allowInsecureUrls: false };
const valid = { issuer: 'https://idp.example.com/tenant-1', client_id: 'tessera' };

function refused(
  input: unknown,
  path: string,
  options: Parameters<typeof checkOidcSettings>[1] = secure,
): OidcSettingsInvalid {
  let caught: unknown;
  try {
    checkOidcSettings(input, options);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof OidcSettingsInvalid, `accepted: ${JSON.stringify(input)}`);
  assert.ok(caught instanceof Error);
  assert.equal(caught.path, path, caught.message);
  assert.ok(caught.message.length > 0);
  return caught;
}

describe('checkOidcSettings', () => {
  it('accepts settings, with the default scopes when none are given', () => {
    assert.deepEqual(checkOidcSettings(valid, secure), {
      issuer: 'https://idp.example.com/tenant-1',
      client_id: 'tessera',
      scopes: ['openid', 'email', 'profile'],
    });
    const scoped = checkOidcSettings({ ...valid, scopes: ['openid', 'groups', 'x:y'] }, secure);
    assert.deepEqual(scoped.scopes, ['openid', 'groups', 'x:y']);
  });

  it('keeps the issuer exactly as given (a trailing slash is part of it)', () => {
    const slash = checkOidcSettings({ ...valid, issuer: 'https://idp.example.com/' }, secure);
    assert.equal(slash.issuer, 'https://idp.example.com/');
  });

  it('returns only the settings, not other members (the secret, claim names)', () => {
    const settings = checkOidcSettings({ ...valid, client_secret: 's3cret', extra: 1 }, secure);
    assert.deepEqual(Object.keys(settings).sort(), ['client_id', 'issuer', 'scopes']);
  });

  it('refuses what is not an object', () => {
    for (const input of [null, 'https://idp.example.com', [valid], 42, undefined]) {
      refused(input, '/oidc');
    }
  });

  it('refuses an issuer that is not an https URL without query nor fragment', () => {
    for (const issuer of [
      undefined,
      42,
      '',
      'idp.example.com',
      'http://idp.example.com',
      'ftp://idp.example.com',
      'https://idp.example.com?tenant=1',
      'https://idp.example.com/?',
      'https://idp.example.com#top',
      'https://user:pw@idp.example.com',
      ' https://idp.example.com',
      'https://idp.example.com/a b',
      `https://idp.example.com/${'a'.repeat(2048)}`,
    ]) {
      refused({ ...valid, issuer }, '/oidc/issuer');
    }
  });

  it('accepts http only when insecure URLs are allowed', () => {
    const insecure = { allowInsecureUrls: true };
    const error = refused({ ...valid, issuer: 'http://127.0.0.1:8080' }, '/oidc/issuer');
    assert.match(error.message, /https/);
    assert.equal(
      checkOidcSettings({ ...valid, issuer: 'http://127.0.0.1:8080' }, insecure).issuer,
      'http://127.0.0.1:8080',
    );
    refused({ ...valid, issuer: 'ftp://127.0.0.1' }, '/oidc/issuer', insecure);
  });

  it('refuses a client_id that is empty, too long or not a string', () => {
    for (const client_id of [undefined, '', 'a'.repeat(256), 7, 'tab\there']) {
      refused({ ...valid, client_id }, '/oidc/client_id');
    }
    assert.equal(
      checkOidcSettings({ ...valid, client_id: 'a'.repeat(255) }, secure).client_id.length,
      255,
    );
  });

  it('refuses scopes without openid (never added silently)', () => {
    const error = refused({ ...valid, scopes: ['email', 'profile'] }, '/oidc/scopes');
    assert.match(error.message, /openid/);
  });

  it('refuses scope lists of the wrong size and tokens with forbidden characters', () => {
    refused({ ...valid, scopes: [] }, '/oidc/scopes');
    refused({ ...valid, scopes: 'openid email' }, '/oidc/scopes');
    const many = ['openid', ...Array.from({ length: 20 }, (_, index) => `s${index}`)];
    refused({ ...valid, scopes: many }, '/oidc/scopes');
    assert.equal(
      checkOidcSettings({ ...valid, scopes: many.slice(0, 20) }, secure).scopes.length,
      20,
    );
    for (const bad of ['open id', 'a"b', 'a\\b', '', 'é', 7]) {
      refused({ ...valid, scopes: ['openid', bad] }, '/oidc/scopes/1');
    }
    refused({ ...valid, scopes: ['openid', 'email', 'openid'] }, '/oidc/scopes/2');
  });

  it('names the path under another pointer when told', () => {
    const error = refused({ ...valid, issuer: 'nope' }, '/settings/issuer', {
      allowInsecureUrls: false,
      pointer: '/settings',
    });
    assert.equal(error.path, '/settings/issuer');
  });
});
