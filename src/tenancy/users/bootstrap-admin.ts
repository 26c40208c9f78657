import { STARTUP_AUDIT_CONTEXT } from '../../access/audit-context.ts';
import { createAuditLog } from '../../audit/audit-log.ts';
import { IdentityErrors } from '../../identity/errors.ts';
import { checkPasswordPolicy, hashPassword } from '../../identity/login/passwords.ts';
import { normalizeEmail } from '../../identity/users/normalize-email.ts';
import { createUserService } from '../../identity/users/user-service.ts';
import { isTesseraError } from '../../platform/errors.ts';
import type { AnyKysely } from '../../storage/database.ts';
import type { Database } from '../../storage/open-database.ts';
import { grantRoles } from '../memberships/grant-roles.ts';
import { createMembershipStore } from '../memberships/membership-store.ts';
import { SYSTEM_TENANT_ID } from '../role-names.ts';

export interface BootstrapLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface BootstrapOptions {
  /** `[auth] password_min_length`. */
  readonly passwordMinLength?: number;
  readonly now?: () => number;
}

/** `exists`: nothing to do; `created`: a new user; `promoted`: an existing user became admin. */
export type BootstrapOutcome = 'exists' | 'skipped' | 'created' | 'promoted';

export const CREATE_ADMIN_HINT =
  'npm run tessera -- user create --email you@example.com --platform-admin';

/**
 * Makes sure the platform can be administered: when no member of the `system` tenant
 * holds `admin`, creates one from TESSERA_ADMIN_EMAIL and TESSERA_ADMIN_PASSWORD. There
 * is never a default password (OWASP ASVS V2.3: no default credentials); without the
 * variables it only warns. Throws, failing start-up, on a half-set pair, a malformed
 * email or a password the policy refuses.
 */
export async function bootstrapPlatformAdmin(
  db: Database,
  env: Readonly<Record<string, string | undefined>>,
  logger: BootstrapLogger,
  options: BootstrapOptions = {},
): Promise<BootstrapOutcome> {
  // Every restart after the first ends here, without hashing anything.
  if (await hasPlatformAdmin(db.kysely)) return 'exists';
  const email = env.TESSERA_ADMIN_EMAIL?.trim() || undefined;
  const password = env.TESSERA_ADMIN_PASSWORD || undefined;
  if (email === undefined && password === undefined) {
    logger.warn(
      { command: CREATE_ADMIN_HINT },
      `no platform administrator exists: set TESSERA_ADMIN_EMAIL and TESSERA_ADMIN_PASSWORD and restart, or run \`${CREATE_ADMIN_HINT}\` (password from stdin or TESSERA_ADMIN_PASSWORD)`,
    );
    return 'skipped';
  }
  if (email === undefined || password === undefined) {
    const missing = email === undefined ? 'TESSERA_ADMIN_EMAIL' : 'TESSERA_ADMIN_PASSWORD';
    throw new Error(
      `${missing} is not set: set both TESSERA_ADMIN_EMAIL and TESSERA_ADMIN_PASSWORD, or neither`,
    );
  }
  const normalized = adminEmail(email);
  const problems = checkPasswordPolicy(password, options.passwordMinLength ?? 8);
  if (problems.length > 0) {
    throw new Error(`TESSERA_ADMIN_PASSWORD is not acceptable: it ${problems.join('; it ')}`);
  }
  // Hashed outside the transaction so the lock is held for milliseconds, not ~25 ms more.
  const passwordHash = await hashPassword(password);
  const outcome = await withOneRetry(() =>
    // The schema lock serialises nodes starting together: the second sees the first's admin.
    db.exclusive(async (trx) => {
      const made = await makeAdmin(trx, normalized, passwordHash, options.now);
      if (made.result !== 'exists') {
        await createAuditLog(db).inTransaction(trx, STARTUP_AUDIT_CONTEXT, [
          {
            tenant_id: SYSTEM_TENANT_ID,
            action: made.result === 'created' ? 'user.created' : 'user.roles_changed',
            target: `user:${made.userId}`,
            outcome: 'success',
            details: { email: normalized, platform_admin: true },
          },
        ]);
      }
      return made;
    }),
  );
  if (outcome.result !== 'exists') {
    logger.info(
      { email: normalized, user_id: outcome.userId, outcome: outcome.result },
      outcome.result === 'created'
        ? 'platform administrator created from TESSERA_ADMIN_EMAIL'
        : 'existing user of TESSERA_ADMIN_EMAIL made platform administrator',
    );
  }
  return outcome.result;
}

function hasPlatformAdmin(kysely: AnyKysely): Promise<boolean> {
  return createMembershipStore({ kysely }).hasMemberWithRole(SYSTEM_TENANT_ID, 'admin');
}

function adminEmail(email: string): string {
  try {
    return normalizeEmail(email);
  } catch (error) {
    if (isTesseraError(error)) throw new Error(`TESSERA_ADMIN_EMAIL: ${error.detail}`);
    throw error;
  }
}

async function makeAdmin(
  trx: AnyKysely,
  email: string,
  passwordHash: string,
  now: (() => number) | undefined,
): Promise<{ result: BootstrapOutcome; userId?: string }> {
  if (await hasPlatformAdmin(trx)) return { result: 'exists' };
  const users = createUserService({ kysely: trx }, now);
  const members = createMembershipStore({ kysely: trx }, now);
  const existing = await users.findCredentials(email);
  const user = existing?.user ?? (await users.createUser({ email, password_hash: passwordHash }));
  // An existing password is the user's own: never replace it from the environment.
  if (existing && existing.password_hash === null)
    await users.setPasswordHash(user.id, passwordHash);
  const roles = (await members.rolesOf(SYSTEM_TENANT_ID, user.id)) ?? [];
  await grantRoles(trx, SYSTEM_TENANT_ID, user.id, [...roles, 'admin'], now);
  return { result: existing ? 'promoted' : 'created', userId: user.id };
}

/**
 * `user create` does not take the schema lock, so it may register the same email
 * between our read and our insert; the second attempt then finds that user.
 */
async function withOneRetry<T>(attempt: () => Promise<T>): Promise<T> {
  try {
    return await attempt();
  } catch (error) {
    if (isTesseraError(error) && error.code === IdentityErrors.email_taken) return await attempt();
    throw error;
  }
}
