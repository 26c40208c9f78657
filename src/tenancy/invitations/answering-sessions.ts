import { identityIn } from '../../identity/identity-port.ts';
import type { AnyKysely } from '../../storage/database.ts';
import { createMembershipStore } from '../memberships/membership-store.ts';

/**
 * Ends the user's sessions in `tenantId` when they are no member there: such a
 * session was opened only to answer that tenant's invitation (a login with no
 * role, see identity.md), and once the invitation is answered no (declined) or
 * withdrawn (cancelled) it has no purpose left. A member's sessions are theirs to
 * keep. Runs in `trx`, with the change it follows; returns the session ids revoked,
 * and the caller tells the credential cache once `trx` commits.
 */
export async function endAnsweringSessions(
  trx: AnyKysely,
  tenantId: string,
  userId: string,
  reason: 'invitation_declined' | 'invitation_cancelled',
): Promise<string[]> {
  const member = await createMembershipStore({ kysely: trx }).storedRoles(tenantId, userId);
  if (member !== undefined) return [];
  return identityIn(trx).sessions.revoke(tenantId, userId, {}, reason);
}
