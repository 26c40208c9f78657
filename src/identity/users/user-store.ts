import { randomUUID } from 'node:crypto';
import { type Expression, type Kysely, sql } from 'kysely';
import { likeContaining } from '../../storage/like-containing.ts';
import type { Database } from '../../storage/open-database.ts';
import type { Tables, UserRow } from '../../storage/tables.ts';
import { isUniqueViolation } from '../../storage/unique-violation.ts';

/** A user as every caller sees it: never with the password hash. */
export interface User {
  readonly id: string;
  /** Trimmed and lower-cased. */
  readonly email: string;
  readonly name: string | null;
  readonly status: 'active' | 'disabled';
  readonly email_verified: boolean;
  readonly created_ms: number;
  readonly updated_ms: number;
}

export interface NewUser {
  readonly email: string;
  readonly name?: string | null | undefined;
  /** From `hashPassword`; absent for users who sign in without one (SSO, magic links). */
  readonly password_hash?: string | null | undefined;
}

/** What an insert did: the user, or nothing because the email is registered already. */
export type InsertUserOutcome =
  | { readonly ok: true; readonly user: User }
  | { readonly ok: false; readonly reason: 'email_taken'; readonly email: string };

export interface UserStore {
  /**
   * A new user of `user.email` as given (normalizeEmail's form: the rules are the
   * caller's, see user-service.ts). The unique index decides a taken email.
   */
  insert(user: NewUser): Promise<InsertUserOutcome>;
  findByEmail(email: string): Promise<User | undefined>;
  findById(id: string): Promise<User | undefined>;
  /** For sign-in only: the one read that returns the hash (null: the user has none). */
  findCredentials(email: string): Promise<{ user: User; password_hash: string | null } | undefined>;
  /** False when no user has the id. */
  updatePasswordHash(userId: string, passwordHash: string): Promise<boolean>;
  /**
   * Marks the address verified, only while the account still has `email` (the address
   * a link was sent to): false when it changed meanwhile, or no user has the id.
   */
  markEmailVerified(userId: string, email: string): Promise<boolean>;
  /** The users of these ids that exist, by email. */
  findManyByIds(ids: readonly string[]): Promise<User[]>;
  /** The name is the identity's, shown in every tenant the user belongs to. */
  setName(userId: string, name: string | null): Promise<void>;
  /** Deletes the user row; whatever refers to it must be gone first (or go by cascade). */
  remove(userId: string): Promise<void>;
  /**
   * A subquery of the ids of users whose email or name contains `text`, ignoring case,
   * for another domain's paged listing to filter on (`user_id IN (...)`).
   */
  idsMatching(text: string): Expression<{ id: string }>;
}

type UserTables = Pick<Tables, 'users'>;

const USER_COLUMNS = [
  'id',
  'email',
  'name',
  'status',
  'email_verified',
  'created_ms',
  'updated_ms',
] as const;

/** Tolerant lookup form: a malformed address simply matches nobody. */
function lookupEmail(email: string): string {
  return email.normalize('NFC').trim().toLowerCase();
}

const toUser = (row: Omit<UserRow, 'password_hash'>): User => ({
  id: row.id,
  email: row.email,
  name: row.name,
  status: row.status,
  email_verified: row.email_verified === 1,
  created_ms: row.created_ms,
  updated_ms: row.updated_ms,
});

/**
 * One Kysely store for both engines. `db` may be a transaction (`{ kysely: trx }`),
 * so callers can combine its writes with others atomically.
 */
export function createUserStore(
  db: Pick<Database, 'kysely'>,
  now: () => number = Date.now,
): UserStore {
  const kysely: Kysely<UserTables> = db.kysely;
  const selectUsers = () => kysely.selectFrom('users').select(USER_COLUMNS);

  return {
    async insert(user) {
      const time = now();
      const row: UserRow = {
        id: randomUUID(),
        email: user.email,
        name: user.name?.trim() || null,
        password_hash: user.password_hash ?? null,
        status: 'active',
        email_verified: 0,
        created_ms: time,
        updated_ms: time,
      };
      try {
        // The unique index decides, not a prior read: two concurrent sign-ups race here.
        await kysely.insertInto('users').values(row).execute();
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        return { ok: false, reason: 'email_taken', email: row.email };
      }
      return { ok: true, user: toUser(row) };
    },

    async findByEmail(email) {
      const row = await selectUsers().where('email', '=', lookupEmail(email)).executeTakeFirst();
      return row && toUser(row);
    },

    async findById(id) {
      const row = await selectUsers().where('id', '=', id).executeTakeFirst();
      return row && toUser(row);
    },

    async findCredentials(email) {
      const row = await selectUsers()
        .select('password_hash')
        .where('email', '=', lookupEmail(email))
        .executeTakeFirst();
      return row && { user: toUser(row), password_hash: row.password_hash };
    },

    async updatePasswordHash(userId, passwordHash) {
      const result = await kysely
        .updateTable('users')
        .set({ password_hash: passwordHash, updated_ms: now() })
        .where('id', '=', userId)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    async markEmailVerified(userId, email) {
      // One conditional UPDATE: an address changed between the token's check and this
      // write is not marked verified.
      const result = await kysely
        .updateTable('users')
        .set({ email_verified: 1, updated_ms: now() })
        .where('id', '=', userId)
        .where('email', '=', email)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    async findManyByIds(ids) {
      if (ids.length === 0) return [];
      const rows = await selectUsers()
        .where('id', 'in', [...new Set(ids)])
        .orderBy('email')
        .execute();
      return rows.map(toUser);
    },

    async setName(userId, name) {
      await kysely
        .updateTable('users')
        .set({ name, updated_ms: now() })
        .where('id', '=', userId)
        .execute();
    },

    async remove(userId) {
      await kysely.deleteFrom('users').where('id', '=', userId).execute();
    },

    idsMatching(text) {
      const pattern = likeContaining(text.toLowerCase());
      return kysely
        .selectFrom('users')
        .select('id')
        .where(
          sql<boolean>`(lower(users.email) like ${pattern} escape '\\' or lower(coalesce(users.name, '')) like ${pattern} escape '\\')`,
        );
    },
  };
}
