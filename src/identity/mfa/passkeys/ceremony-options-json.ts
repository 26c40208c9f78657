import { Type } from 'typebox';

/**
 * The options answers, as WebAuthn Level 3 defines their JSON
 * (PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON):
 * what `PublicKeyCredential.parseCreationOptionsFromJSON()` and
 * `parseRequestOptionsFromJSON()` take. Open to members a later library adds.
 */
const open = { additionalProperties: true } as const;

const CredentialDescriptor = Type.Object(
  {
    id: Type.String(),
    type: Type.String({ description: '`public-key`.' }),
    transports: Type.Optional(Type.Array(Type.String())),
  },
  open,
);

export const CreationOptionsJson = Type.Object(
  {
    rp: Type.Object({ name: Type.String(), id: Type.Optional(Type.String()) }, open),
    user: Type.Object({ id: Type.String(), name: Type.String(), displayName: Type.String() }, open),
    challenge: Type.String({ description: 'base64url; single use, short-lived.' }),
    pubKeyCredParams: Type.Array(Type.Object({ alg: Type.Integer(), type: Type.String() }, open)),
    timeout: Type.Optional(Type.Integer()),
    excludeCredentials: Type.Optional(Type.Array(CredentialDescriptor)),
    authenticatorSelection: Type.Optional(Type.Object({}, open)),
    attestation: Type.Optional(Type.String()),
    extensions: Type.Optional(Type.Object({}, open)),
    hints: Type.Optional(Type.Array(Type.String())),
  },
  { ...open, description: 'Give to navigator.credentials.create({publicKey}) (decoded).' },
);

export const RequestOptionsJson = Type.Object(
  {
    challenge: Type.String({ description: 'base64url; single use, short-lived.' }),
    timeout: Type.Optional(Type.Integer()),
    rpId: Type.Optional(Type.String()),
    allowCredentials: Type.Optional(Type.Array(CredentialDescriptor)),
    userVerification: Type.Optional(Type.String()),
    extensions: Type.Optional(Type.Object({}, open)),
    hints: Type.Optional(Type.Array(Type.String())),
  },
  { ...open, description: 'Give to navigator.credentials.get({publicKey}) (decoded).' },
);
