import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OIDC_CLAIM_DEFAULTS } from '../federated-identity.ts';
import { identityFromClaims } from './oidc-identity.ts';

describe('identityFromClaims', () => {
  it('vouches for an email only with the boolean true', () => {
    for (const email_verified of ['true', 1, 'yes', null, undefined]) {
      const identity = identityFromClaims(
        { sub: 's', email: 'a@b.c', email_verified },
        OIDC_CLAIM_DEFAULTS,
      );
      assert.equal(identity.emailVerified, false, String(email_verified));
    }
  });

  it('reads groups as a list of strings or one string, else none; amr likewise', () => {
    const of = (groups: unknown, amr?: unknown) =>
      identityFromClaims({ sub: 's', groups, amr }, OIDC_CLAIM_DEFAULTS);
    assert.deepEqual(of(['a', 'b']).groups, ['a', 'b']);
    assert.deepEqual(of('a').groups, ['a']);
    assert.deepEqual(of(['a', 1]).groups, []);
    assert.deepEqual(of({ a: 1 }).groups, []);
    assert.deepEqual(of(undefined, ['pwd', 'mfa']).amr, ['pwd', 'mfa']);
    assert.deepEqual(of(undefined, 'pwd').amr, []);
  });

  it('reads through the connection’s claim names, and keeps every claim', () => {
    const identity = identityFromClaims(
      { sub: 's', mail: ' X@Y.Z ', verified: true, cn: 'X', roles: 'r', other: 1 },
      { email: 'mail', email_verified: 'verified', name: 'cn', groups: 'roles' },
    );
    assert.equal(identity.email, 'x@y.z');
    assert.equal(identity.emailVerified, true);
    assert.equal(identity.name, 'X');
    assert.deepEqual(identity.groups, ['r']);
    assert.equal(identity.claims.other, 1);
    assert.equal(
      identityFromClaims({ sub: 's', email: '  ' }, OIDC_CLAIM_DEFAULTS).email,
      undefined,
    );
  });
});
