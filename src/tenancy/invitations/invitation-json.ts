import { Type } from 'typebox';
import type { InvitedAnswer } from './invitation-service.ts';

/** The answer to adding a member by email: the same whether the email was known or not. */
export const Invited = Type.Object(
  {
    status: Type.Literal('invited'),
    email: Type.String(),
    roles: Type.Array(Type.String()),
    expires_at: Type.String({ format: 'date-time' }),
  },
  { description: 'An invitation awaits its user’s answer (GET /auth/invitations).' },
);

export function invitedJson(answer: InvitedAnswer) {
  return {
    status: answer.status,
    email: answer.email,
    roles: [...answer.roles],
    expires_at: new Date(answer.expires_ms).toISOString(),
  };
}
