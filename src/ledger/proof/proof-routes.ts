import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf } from '../../access/actor.ts';
import { MAX_SERVED_DEPTH, nestsDeeperThan, stringifyIteratively } from '../../events/deep-json.ts';
import { EventId, StoredEventSchema } from '../../events/schemas.ts';
import { Jwk } from '../../identity/tokens/well-known-routes.ts';
import { checkpointPayload } from '../checkpoints/checkpoint-jws.ts';
import type { EventProof, EventProofs } from './event-proof.ts';

const Hash = Type.String({ description: '64 lowercase hex digits.' });

const ProofLinkSchema = Type.Object({
  event: StoredEventSchema,
  canonical: Type.String({
    description:
      'The exact text hashed: RFC 8785 of `event` (its UTF-8 bytes follow the previous hash).',
  }),
  hash: Hash,
});

const ProofSchema = Type.Object({
  log: Type.Union([Type.Literal('events'), Type.Literal('audit')], {
    description: '`events`: the tenant’s event log; `audit`: its audit trail.',
  }),
  partition: Type.String({ description: 'The chain: `acme` or `$audit:acme`.' }),
  event: StoredEventSchema,
  hash: Hash,
  previous_hash: Type.String({
    description: 'The hash of the event before it in its chain, or the genesis hash (64 zeros).',
  }),
  segment: Type.Array(ProofLinkSchema, {
    description: 'The event, then each later event of its chain up to the checkpoint’s.',
  }),
  checkpoint: Type.Object({
    partition: Type.String(),
    position: Type.Integer(),
    hash: Hash,
    timestamp: Type.String(),
    kid: Type.String(),
    jws: Type.String({ description: 'Compact JWS (EdDSA, typ tessera-ledger-checkpoint).' }),
  }),
  key: Jwk,
});

function toProofJson(proof: EventProof) {
  const { tenant_id, ...signed } = checkpointPayload(proof.checkpoint);
  return {
    ...proof,
    checkpoint: {
      partition: tenant_id,
      ...signed,
      kid: proof.checkpoint.kid,
      jws: proof.checkpoint.jws,
    },
  };
}

/** Nesting n levels takes at least 2n characters: short canonical text needs no walk. */
const nestsTooDeep = (link: EventProof['segment'][number]): boolean =>
  link.canonical.length > 2 * MAX_SERVED_DEPTH && nestsDeeperThan(link.event, MAX_SERVED_DEPTH);

/** `GET /ledger/proof`: what proves one event of the caller's tenant (issue 22 item 3). */
export const proofRoutes: FastifyPluginAsyncTypebox<{ proofs: EventProofs }> = async (
  app,
  { proofs },
) => {
  app.get(
    '/ledger/proof',
    {
      config: { access: 'audit:verify' },
      schema: {
        tags: ['ledger'],
        summary: 'The chain segment and signed checkpoint that prove one event',
        querystring: Type.Object(
          {
            event_id: {
              ...EventId,
              description: 'An event of the tenant’s log, or an entry of its audit trail.',
            },
          },
          { additionalProperties: false },
        ),
        response: { 200: ProofSchema },
      },
    },
    async (request, reply) => {
      const proof = toProofJson(await proofs.prove(actorOf(request), request.query.event_id));
      if (!proof.segment.some(nestsTooDeep)) return proof;
      // The schema's serializer recurses (JSON.stringify): an event stored before the
      // door refused deep bodies (deep-json.ts) would overflow it, so the whole answer
      // is written without recursion instead. It is the same JSON either way.
      reply.serializer(stringifyIteratively);
      return proof;
    },
  );
};
