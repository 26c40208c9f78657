import { TesseraError } from '../../platform/errors.ts';
import type { Database } from '../../storage/open-database.ts';
import { IdentityErrors } from '../errors.ts';
import { normalizeEmail } from './normalize-email.ts';
import { createUserStore, type NewUser, type User, type UserStore } from './user-store.ts';

/** Users with identity's rules and API errors; the store beneath speaks outcomes. */
export interface UserService
  extends Omit<UserStore, 'insert' | 'updatePasswordHash' | 'remove' | 'idsMatching'> {
  /** Throws 400 `invalid_email`, 409 `email_taken` when the email is registered already. */
  createUser(user: NewUser): Promise<User>;
  /** Throws 404 `user_not_found`. */
  setPasswordHash(userId: string, passwordHash: string): Promise<void>;
}

/** The store's outcome as identity answers it: 409 `email_taken`. */
export function emailTaken(email: string): TesseraError {
  return new TesseraError(IdentityErrors.email_taken, `${email} is already registered`);
}

/**
 * On `db`, which may be a transaction (`{ kysely: trx }`), so callers can combine its
 * writes with others atomically.
 */
export function createUserService(
  db: Pick<Database, 'kysely'>,
  now: () => number = Date.now,
): UserService {
  const store = createUserStore(db, now);
  return {
    findByEmail: (email) => store.findByEmail(email),
    findById: (id) => store.findById(id),
    findCredentials: (email) => store.findCredentials(email),
    findManyByIds: (ids) => store.findManyByIds(ids),
    setName: (userId, name) => store.setName(userId, name),
    markEmailVerified: (userId, email) => store.markEmailVerified(userId, email),

    async createUser(user) {
      const inserted = await store.insert({ ...user, email: normalizeEmail(user.email) });
      if (!inserted.ok) throw emailTaken(inserted.email);
      return inserted.user;
    },

    async setPasswordHash(userId, passwordHash) {
      if (!(await store.updatePasswordHash(userId, passwordHash))) {
        throw new TesseraError(IdentityErrors.user_not_found, `no user has the id ${userId}`);
      }
    },
  };
}
