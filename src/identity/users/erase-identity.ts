import type { AnyKysely } from '../../storage/database.ts';
import { createSessionAdminStore } from '../sessions/session-admin-store.ts';
import { createUserStore } from './user-store.ts';

/**
 * Erases an identity inside the caller's transaction: its sessions with their refresh
 * tokens, then the user row (its lockout counters and invitations go with it, by
 * cascade). Whatever else names the user (memberships, team places) must be gone first.
 */
export async function eraseIdentity(trx: AnyKysely, userId: string): Promise<void> {
  await createSessionAdminStore({ kysely: trx }).deleteAllOfUser(userId);
  await createUserStore({ kysely: trx }).remove(userId);
}
