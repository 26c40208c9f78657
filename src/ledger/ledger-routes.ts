import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { LEDGER_BREAK_REASONS, type LedgerBreakReason } from './ledger-break.ts';
import type { LedgerVerifier } from './ledger-verifier.ts';
import { PARTITION_KINDS, type PartitionKind } from './verify-cursor.ts';

const KINDS: readonly PartitionKind[] = PARTITION_KINDS;

const VerifyQuery = Type.Object(
  {
    from: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: 'The first position to check (default: the first).',
      }),
    ),
    to: Type.Optional(
      Type.Integer({
        minimum: 1,
        description:
          'The last position to check (default: the end, where the head is checked too).',
      }),
    ),
    cursor: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: 'The `next_cursor` of the previous answer.',
      }),
    ),
  },
  { additionalProperties: false },
);

const VerifyResult = Type.Object({
  ok: Type.Boolean({ description: 'No break found in what was checked so far.' }),
  checked: Type.Integer({ description: 'Events this request verified.' }),
  first_broken: Type.Union([
    Type.Object({
      partition: Type.Unsafe<PartitionKind>({
        type: 'string',
        enum: [...KINDS],
        description: "`events`: the tenant's log; `audit`: its audit trail.",
      }),
      position: Type.Integer(),
      reason: Type.Unsafe<LedgerBreakReason>({ type: 'string', enum: [...LEDGER_BREAK_REASONS] }),
      checkpoint: Type.Optional(
        Type.Integer({
          description:
            'For `checkpoint_mismatch`, `checkpoint_signature` and `unknown_key`: the position of the signed checkpoint that failed.',
        }),
      ),
    }),
    Type.Null(),
  ]),
  next_cursor: Type.Union([Type.String(), Type.Null()], {
    description: 'Pass as `cursor` (with the same from/to) to continue; null when done.',
  }),
});

/** `GET /api/v1/audit/verify`: the caller's tenant's hash chains, checked (`audit:verify`). */
export const ledgerRoutes: FastifyPluginAsyncTypebox<{ verifier: LedgerVerifier }> = async (
  app,
  { verifier },
) => {
  app.get(
    '/audit/verify',
    {
      config: { access: 'audit:verify' },
      schema: {
        tags: ['audit'],
        summary:
          "Verifies the tenant's event log and audit trail hash chains, a bounded batch per request",
        querystring: VerifyQuery,
        response: { 200: VerifyResult },
      },
    },
    async (request) => verifier.verifyTenant(request.tenantId, request.query),
  );
};
