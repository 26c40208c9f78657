import type { Profile } from '@node-saml/node-saml';
import type { FederatedIdentity } from '../federated-identity.ts';
import type { SamlConnection } from './saml-federation.ts';
import type { SignedAssertion } from './signed-assertion.ts';

const NAMEID_EMAIL = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';

/**
 * The person a verified assertion describes, read through the connection's attribute
 * names. SAML has no email_verified: the address counts as verified only when the admin
 * marked the connection trusted.
 */
export function identityOf(
  connection: SamlConnection,
  assertion: SignedAssertion,
  profile: Profile,
): FederatedIdentity {
  const attributes = attributesOf(profile);
  const names = connection.claimNames;
  const asserted = first(attributes[names.email]);
  const fromNameId = assertion.nameIdFormat === NAMEID_EMAIL ? assertion.nameId : undefined;
  const email = normaliseEmail(asserted ?? fromNameId);
  const claims: Record<string, unknown> = {
    ...attributes,
    // After the attributes: an attribute cannot pass itself off as one of these.
    nameID: assertion.nameId,
    nameIDFormat: assertion.nameIdFormat,
    sessionIndex: assertion.sessionIndex,
    issuer: assertion.issuer,
    authnContextClassRef: assertion.authnContextClassRef,
  };
  return {
    subject: assertion.nameId,
    email,
    emailVerified: connection.trusted && email !== undefined,
    name: first(attributes[names.name])?.trim() || undefined,
    groups: all(attributes[names.groups]),
    amr: [],
    claims,
  };
}

/** node-saml's attributes, each value a string or an array of strings (multi-valued). */
function attributesOf(profile: Profile): Record<string, string | string[]> {
  const raw = profile.attributes;
  const attributes: Record<string, string | string[]> = {};
  if (typeof raw !== 'object' || raw === null) return attributes;
  for (const [name, value] of Object.entries(raw)) {
    const values = (Array.isArray(value) ? value : [value])
      .map(textOf)
      .filter((one) => one !== undefined);
    if (values.length === 0) continue;
    attributes[name] = Array.isArray(value) ? values : (values[0] as string);
  }
  return attributes;
}

/** A value node-saml left as an object (it had child elements or only attributes) keeps its text, if any. */
function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { _?: unknown })._ === 'string'
  )
    return (value as { _: string })._;
  return undefined;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function all(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value])
    .map((one) => one.trim())
    .filter((one) => one !== '');
}

function normaliseEmail(value: string | undefined): string | undefined {
  const email = value?.trim().toLowerCase();
  return email === undefined || email === '' ? undefined : email;
}
