import type { AnyKysely } from '../../../storage/database.ts';
import {
  newRecoveryCode,
  normalizeRecoveryCode,
  RECOVERY_CODE_COUNT,
  recoveryCodeDigest,
} from './recovery-code-format.ts';
import { createRecoveryCodeStore } from './recovery-code-store.ts';

/**
 * A fresh set of codes for the user, in `trx`, voiding every earlier one; the codes
 * in clear are returned to be shown once and never stored. Under the user's row
 * lock, so concurrent issues leave exactly one set.
 */
export async function issueRecoveryCodes(
  trx: AnyKysely,
  userId: string,
  atMs: number,
): Promise<string[]> {
  const store = createRecoveryCodeStore(trx);
  await store.lockUser(userId);
  const codes = new Set<string>();
  while (codes.size < RECOVERY_CODE_COUNT) codes.add(newRecoveryCode());
  const shown = [...codes];
  const digests = shown.map((code) =>
    recoveryCodeDigest(userId, normalizeRecoveryCode(code) as string),
  );
  await store.replaceAll(userId, digests, atMs);
  return shown;
}
