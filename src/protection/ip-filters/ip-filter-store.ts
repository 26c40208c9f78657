import type { Kysely } from 'kysely';
import type { AnyKysely } from '../../storage/database.ts';
import type { IpFilterRow, Tables } from '../../storage/tables.ts';

export type IpFilterAction = IpFilterRow['action'];

/** Where an entry applies: a tenant's id, or null for every request (global). */
export type IpFilterScope = string | null;

export interface IpFilterRecord {
  readonly id: string;
  readonly tenant_id: IpFilterScope;
  /** Canonical text (src/platform/cidr.ts). */
  readonly cidr: string;
  readonly action: IpFilterAction;
  readonly reason: string;
  readonly created_by: string | null;
  readonly created_by_type: string;
  readonly created_ms: number;
}

type IpFilterTables = Pick<Tables, 'ip_filters'>;

/** The `ip_filters` table; nothing else reads or writes it. */
export function createIpFilterStore(db: { kysely: AnyKysely }) {
  const kysely: Kysely<IpFilterTables> = db.kysely;
  const inScope = (scope: IpFilterScope) =>
    scope === null
      ? kysely.selectFrom('ip_filters').selectAll().where('tenant_id', 'is', null)
      : kysely.selectFrom('ip_filters').selectAll().where('tenant_id', '=', scope);

  return {
    /** Every entry of every scope: what each node keeps in memory. */
    all: (): Promise<IpFilterRecord[]> =>
      kysely.selectFrom('ip_filters').selectAll().orderBy('id').execute(),

    /** The scope's entries, a page at a time, by id. */
    list(scope: IpFilterScope, page: { after?: string | undefined; limit: number }) {
      let query = inScope(scope);
      if (page.after !== undefined) query = query.where('id', '>', page.after);
      return query.orderBy('id').limit(page.limit).execute();
    },

    /** Every entry of the scope. */
    scope: (scope: IpFilterScope): Promise<IpFilterRecord[]> => inScope(scope).execute(),

    /** Throws a unique violation when the scope has the range already. */
    async insert(record: IpFilterRecord): Promise<void> {
      await kysely.insertInto('ip_filters').values(record).execute();
    },

    /** The entry with this id in this scope, if any. */
    find: (scope: IpFilterScope, id: string): Promise<IpFilterRecord | undefined> =>
      inScope(scope).where('id', '=', id).executeTakeFirst(),

    /** The entry with this id, whatever its scope. */
    findAny: (id: string): Promise<IpFilterRecord | undefined> =>
      kysely.selectFrom('ip_filters').selectAll().where('id', '=', id).executeTakeFirst(),

    /** False when the scope has no entry with this id. */
    async remove(scope: IpFilterScope, id: string): Promise<boolean> {
      let query = kysely.deleteFrom('ip_filters').where('id', '=', id);
      query =
        scope === null
          ? query.where('tenant_id', 'is', null)
          : query.where('tenant_id', '=', scope);
      const result = await query.executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}

export type IpFilterStore = ReturnType<typeof createIpFilterStore>;
