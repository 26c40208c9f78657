import type { ClaimNames, FederatedIdentity } from '../federated-identity.ts';

const strings = (value: unknown): string[] | undefined =>
  Array.isArray(value) && value.every((item) => typeof item === 'string') ? [...value] : undefined;

/**
 * The person an OpenID Provider vouched for, read through the connection's claim
 * names. `claims` are the ID token's, merged over UserInfo's when it was asked.
 */
export function identityFromClaims(
  claims: Readonly<Record<string, unknown>>,
  names: ClaimNames,
): FederatedIdentity {
  const sub = claims.sub;
  if (typeof sub !== 'string' || sub === '') throw new TypeError('the ID token has no sub');
  const email = claims[names.email];
  const name = claims[names.name];
  const groups = claims[names.groups];
  const trimmedEmail = typeof email === 'string' ? email.trim().toLowerCase() : '';
  const trimmedName = typeof name === 'string' ? name.trim() : '';
  return {
    subject: sub,
    email: trimmedEmail === '' ? undefined : trimmedEmail,
    // Strictly the boolean: a string "true" is not an IdP vouching by the spec's rules.
    emailVerified: claims[names.email_verified] === true,
    name: trimmedName === '' ? undefined : trimmedName,
    groups: typeof groups === 'string' ? [groups] : (strings(groups) ?? []),
    amr: strings(claims.amr) ?? [],
    claims: Object.freeze({ ...claims }),
  };
}
