import type { Kysely, Selectable } from 'kysely';
import type { AnyKysely } from '../../../storage/database.ts';
import type { PasskeyRow, Tables } from '../../../storage/tables.ts';

type PasskeyTables = Pick<Tables, 'passkeys'>;

/** A stored passkey, its JSON columns read. */
export interface Passkey extends Omit<Selectable<PasskeyRow>, 'transports' | 'backed_up'> {
  readonly transports: string[];
  readonly backed_up: boolean;
}

export type NewPasskey = Omit<Passkey, 'last_used_ms'>;

function read(row: Selectable<PasskeyRow>): Passkey {
  let transports: string[] = [];
  try {
    const parsed: unknown = JSON.parse(row.transports);
    if (Array.isArray(parsed)) transports = parsed.filter((t) => typeof t === 'string');
  } catch {
    // an unreadable column reads as no hints
  }
  return { ...row, transports, backed_up: row.backed_up === 1 };
}

/** The `passkeys` table (migration 0013). `db` is the database's Kysely or a transaction. */
export function createPasskeyStore(db: AnyKysely) {
  const kysely: Kysely<PasskeyTables> = db;
  return {
    async listOfUser(userId: string): Promise<Passkey[]> {
      const rows = await kysely
        .selectFrom('passkeys')
        .selectAll()
        .where('user_id', '=', userId)
        .orderBy('created_ms')
        .orderBy('id')
        .execute();
      return rows.map(read);
    },

    async find(id: string): Promise<Passkey | undefined> {
      const row = await kysely
        .selectFrom('passkeys')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      return row && read(row);
    },

    async countOfUser(userId: string): Promise<number> {
      const row = await kysely
        .selectFrom('passkeys')
        .select((eb) => eb.fn.countAll<number | string>().as('count'))
        .where('user_id', '=', userId)
        .executeTakeFirstOrThrow();
      return Number(row.count);
    },

    /** Throws a unique violation when the credential is registered already (anyone's). */
    async insert(passkey: NewPasskey): Promise<void> {
      await kysely
        .insertInto('passkeys')
        .values({
          ...passkey,
          transports: JSON.stringify(passkey.transports),
          backed_up: passkey.backed_up ? 1 : 0,
          last_used_ms: null,
        })
        .execute();
    },

    async rename(userId: string, id: string, name: string): Promise<Passkey | undefined> {
      const row = await kysely
        .updateTable('passkeys')
        .set({ name })
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .returningAll()
        .executeTakeFirst();
      return row && read(row);
    },

    async remove(userId: string, id: string): Promise<Passkey | undefined> {
      const row = await kysely
        .deleteFrom('passkeys')
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .returningAll()
        .executeTakeFirst();
      return row && read(row);
    },

    /**
     * Records a verified use. The counter moves only forward (WebAuthn Level 2 §6.1.1:
     * a counter that does not grow suggests a cloned authenticator); authenticators
     * that keep no counter report 0 forever. One conditional UPDATE: false when a
     * concurrent use got there first with a counter as high.
     */
    async recordUse(
      id: string,
      use: { counter: number; backed_up: boolean; at: number },
    ): Promise<boolean> {
      const updated = await kysely
        .updateTable('passkeys')
        .set({ counter: use.counter, backed_up: use.backed_up ? 1 : 0, last_used_ms: use.at })
        .where('id', '=', id)
        .where('counter', use.counter === 0 ? '=' : '<', use.counter)
        .executeTakeFirst();
      return Number(updated.numUpdatedRows) === 1;
    },
  };
}

export type PasskeyStore = ReturnType<typeof createPasskeyStore>;
