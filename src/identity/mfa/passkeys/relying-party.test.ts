import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultConfig } from '../../../config/load.ts';
import { relyingPartyOf } from './relying-party.ts';

function configWith(publicUrl: string, rpId: string, origins: string[]) {
  const config = defaultConfig();
  return {
    server: { ...config.server, public_url: publicUrl },
    webauthn: { ...config.webauthn, rp_id: rpId, origins },
  };
}

describe('the WebAuthn relying party from configuration', () => {
  it('takes webauthn.rp_id and webauthn.origins as given', () => {
    assert.deepEqual(relyingPartyOf(configWith('', 'Acme.Example', ['https://app.acme.example'])), {
      id: 'acme.example',
      name: 'Tessera',
      origins: ['https://app.acme.example'],
    });
  });

  it('falls back to the host and origin of server.public_url', () => {
    assert.deepEqual(relyingPartyOf(configWith('https://id.acme.example:8443/base', '', [])), {
      id: 'id.acme.example',
      name: 'Tessera',
      origins: ['https://id.acme.example:8443'],
    });
  });

  it('is off when nothing names a domain: an IP address is never an RP ID', () => {
    assert.equal(relyingPartyOf(configWith('', '', [])), undefined);
    assert.equal(relyingPartyOf(configWith('http://127.0.0.1:8080', '', [])), undefined);
    assert.equal(relyingPartyOf(configWith('http://[::1]:8080', '', [])), undefined);
    assert.equal(relyingPartyOf(configWith('', 'acme.example', [])), undefined, 'no origin');
  });
});
