import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { SigningKeys } from './signing-keys.ts';

export const JWKS_PATH = '/.well-known/jwks.json';
/** Long enough to spare us every request, short enough that a rotation reaches verifiers soon. */
const CACHE_CONTROL = 'public, max-age=300';

/** A published Ed25519 public key (also the ledger's, which signs checkpoints with these keys). */
export const Jwk = Type.Object(
  {
    kty: Type.Literal('OKP'),
    crv: Type.Literal('Ed25519'),
    x: Type.String({ description: 'The public key, base64url (RFC 8037 §2).' }),
    kid: Type.String({
      description: 'RFC 7638 thumbprint; the `kid` header of what it signs (tokens, checkpoints).',
    }),
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

export interface WellKnownOptions {
  readonly keys: Pick<SigningKeys, 'publicKeys'>;
}

/**
 * The JWK Set (RFC 7517 §5), so any JWT library can verify a Tessera token. The
 * discovery documents (OpenID Connect Discovery 1.0, RFC 8414) are the OpenID
 * Provider's (identity/oidc/), which names this set as its `jwks_uri`.
 */
export const wellKnownRoutes: FastifyPluginAsyncTypebox<WellKnownOptions> = async (
  app,
  { keys },
) => {
  const tags = ['platform'];

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
};
