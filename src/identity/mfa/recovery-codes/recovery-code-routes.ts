import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { actorOf } from '../../../access/actor.ts';
import type { RecoveryCodeService } from './recovery-code-service.ts';
import { RecoveryCodes } from './recovery-codes-schema.ts';

/** `/api/v1/auth/mfa/recovery-codes`: the caller's own codes. */
export const recoveryCodeRoutes: FastifyPluginAsyncTypebox<{
  recoveryCodes: RecoveryCodeService;
}> = async (app, { recoveryCodes }) => {
  app.post(
    '/auth/mfa/recovery-codes',
    {
      config: { access: 'authenticated', stepUp: true },
      schema: {
        tags: ['auth'],
        summary: 'Replace the recovery codes (needs a recent second-factor check)',
        response: { 200: RecoveryCodes },
      },
    },
    (request) => recoveryCodes.regenerate(actorOf(request)),
  );
};
