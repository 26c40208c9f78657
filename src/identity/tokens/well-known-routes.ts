import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { SigningKeys } from './signing-keys.ts';

export const JWKS_PATH = '/.well-known/jwks.json';
export const OPENID_CONFIGURATION_PATH = '/.well-known/openid-configuration';
/** Long enough to spare us every request, short enough that a rotation reaches verifiers soon. */
const CACHE_CONTROL = 'public, max-age=300';

const Jwk = Type.Object(
  {
    kty: Type.Literal('OKP'),
    crv: Type.Literal('Ed25519'),
    x: Type.String({ description: 'The public key, base64url (RFC 8037 §2).' }),
    kid: Type.String({ description: 'RFC 7638 thumbprint; the `kid` header of tokens it signs.' }),
    alg: Type.Literal('EdDSA'),
    use: Type.Literal('sig'),
  },
  { additionalProperties: false },
);

const Jwks = Type.Object(
  {
    keys: Type.Array(Jwk, {
      description: 'The signing key and every retired key whose tokens may still be alive.',
    }),
  },
  { additionalProperties: false },
);

const OpenIdConfiguration = Type.Object({
  issuer: Type.String({ description: 'The `iss` of every access token.' }),
  jwks_uri: Type.String(),
  subject_types_supported: Type.Array(Type.String()),
  id_token_signing_alg_values_supported: Type.Array(Type.String()),
  claims_supported: Type.Array(Type.String()),
});

export interface WellKnownOptions {
  readonly keys: Pick<SigningKeys, 'publicKeys'>;
  /** See `issuerFor` in access-token.ts; no trailing slash. */
  readonly issuer: string;
}

/**
 * Public metadata for resource servers, so any JWT library can verify a Tessera access
 * token: the JWK Set (RFC 7517 §5) and discovery metadata (OpenID Connect Discovery 1.0
 * §3, RFC 8414 §2). Tessera has no authorization endpoint, so the document carries
 * only what verification needs rather than pretending to be a full OpenID provider.
 */
export const wellKnownRoutes: FastifyPluginAsyncTypebox<WellKnownOptions> = async (
  app,
  { keys, issuer },
) => {
  const tags = ['platform'];
  const configuration = {
    issuer,
    jwks_uri: `${issuer}${JWKS_PATH}`,
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['EdDSA'],
    claims_supported: ['iss', 'aud', 'sub', 'tid', 'roles', 'sid', 'jti', 'iat', 'exp'],
  };

  app.get(
    JWKS_PATH,
    {
      schema: {
        summary: 'Public keys that verify Tessera access tokens (JWK Set)',
        tags,
        response: { 200: Jwks },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', CACHE_CONTROL);
      return { keys: await keys.publicKeys() };
    },
  );

  app.get(
    OPENID_CONFIGURATION_PATH,
    {
      schema: {
        summary: 'Issuer metadata: where the signing keys are published',
        tags,
        response: { 200: OpenIdConfiguration },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', CACHE_CONTROL);
      return configuration;
    },
  );
};
