import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AnyKysely } from '../../storage/database.ts';
import type { SsoConnectionRow, Tables } from '../../storage/tables.ts';
import { isUniqueViolation } from '../../storage/unique-violation.ts';
import type {
  ConnectionMapping,
  ConnectionSettings,
  ConnectionType,
  SsoConnection,
} from './connection-record.ts';

type ConnectionTables = Pick<Tables, 'sso_connections' | 'sso_domains'>;

/** A new connection id: `sc_` and 24 base64url characters (144 random bits). */
export const newConnectionId = (): string => `sc_${randomBytes(18).toString('base64url')}`;

/** A connection and its sealed OIDC client secret, for the flows only. */
export interface ConnectionWithSecret {
  readonly connection: SsoConnection;
  readonly secret_box: string | null;
}

/** What replacing a connection's domains did: done, or a domain claimed by another connection. */
export type ClaimOutcome = { readonly ok: true } | { readonly ok: false; readonly domain: string };

function toConnection(row: SsoConnectionRow, domains: readonly string[]): SsoConnection {
  const settings = JSON.parse(row.settings);
  return {
    id: row.id,
    tenant_id: row.tenant_id,
    type: row.type,
    name: row.name,
    enabled: Number(row.enabled) === 1,
    oidc: row.type === 'oidc' ? settings : null,
    saml: row.type === 'saml' ? settings : null,
    domains: [...domains].sort(),
    mapping: JSON.parse(row.mapping) as ConnectionMapping,
    trusted: Number(row.trusted) === 1,
    idp_initiated: Number(row.idp_initiated) === 1,
    created_by: row.created_by,
    created_ms: row.created_ms,
    updated_ms: row.updated_ms,
  };
}

function columnsOf(settings: Omit<ConnectionSettings, 'domains'>) {
  return {
    name: settings.name,
    enabled: settings.enabled ? 1 : 0,
    settings: JSON.stringify(settings.oidc ?? settings.saml),
    mapping: JSON.stringify(settings.mapping),
    trusted: settings.trusted ? 1 : 0,
    idp_initiated: settings.idp_initiated ? 1 : 0,
  };
}

/**
 * `sso_connections` and `sso_domains`. Every query the routes reach is keyed by the
 * tenant; only the sign-in flows look a connection up by id or domain alone.
 */
export function createConnectionStore(on: AnyKysely, now: () => number = Date.now) {
  const kysely: Kysely<ConnectionTables> = on;

  async function domainsOf(ids: readonly string[]): Promise<Map<string, string[]>> {
    const byId = new Map<string, string[]>(ids.map((id) => [id, []]));
    if (ids.length === 0) return byId;
    const rows = await kysely
      .selectFrom('sso_domains')
      .select(['domain', 'connection_id'])
      .where('connection_id', 'in', ids)
      .execute();
    for (const row of rows) byId.get(row.connection_id)?.push(row.domain);
    return byId;
  }

  async function withDomains(rows: SsoConnectionRow[]): Promise<SsoConnection[]> {
    const domains = await domainsOf(rows.map((row) => row.id));
    return rows.map((row) => toConnection(row, domains.get(row.id) ?? []));
  }

  async function findRow(id: string, tenantId?: string) {
    let query = kysely.selectFrom('sso_connections').selectAll().where('id', '=', id);
    if (tenantId !== undefined) query = query.where('tenant_id', '=', tenantId);
    return query.executeTakeFirst();
  }

  return {
    async create(
      tenantId: string,
      type: ConnectionType,
      settings: Omit<ConnectionSettings, 'domains'>,
      secretBox: (id: string) => string | null,
      createdBy: string | null,
    ): Promise<SsoConnection> {
      const id = newConnectionId();
      const at = now();
      const row: SsoConnectionRow = {
        id,
        tenant_id: tenantId,
        type,
        ...columnsOf(settings),
        secret_box: secretBox(id),
        created_by: createdBy,
        created_ms: at,
        updated_ms: at,
      };
      await kysely.insertInto('sso_connections').values(row).execute();
      return toConnection(row, []);
    },

    async get(tenantId: string, id: string): Promise<SsoConnection | undefined> {
      const row = await findRow(id, tenantId);
      return row && (await withDomains([row]))[0];
    },

    /** Any tenant's connection by id, with its sealed secret: the sign-in flows' lookup. */
    async findWithSecret(id: string): Promise<ConnectionWithSecret | undefined> {
      const row = await findRow(id);
      if (!row) return undefined;
      const [connection] = await withDomains([row]);
      return connection && { connection, secret_box: row.secret_box };
    },

    async list(
      tenantId: string,
      page: { after?: string | undefined; limit: number },
    ): Promise<SsoConnection[]> {
      let query = kysely
        .selectFrom('sso_connections')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .orderBy('id')
        .limit(page.limit);
      if (page.after !== undefined) query = query.where('id', '>', page.after);
      return withDomains(await query.execute());
    },

    /** The tenant's enabled connections, by name: the hosted sign-in page's buttons. */
    /** Whether an enabled connection claims a domain somewhere: discovery can lead anywhere. */
    async anyDiscoverable(): Promise<boolean> {
      const row = await kysely
        .selectFrom('sso_domains')
        .innerJoin('sso_connections', 'sso_connections.id', 'sso_domains.connection_id')
        .select('sso_domains.domain')
        .where('sso_connections.enabled', '=', 1)
        .limit(1)
        .executeTakeFirst();
      return row !== undefined;
    },

    async enabledOf(tenantId: string): Promise<SsoConnection[]> {
      const rows = await kysely
        .selectFrom('sso_connections')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('enabled', '=', 1)
        .orderBy('name')
        .orderBy('id')
        .limit(50)
        .execute();
      return withDomains(rows);
    },

    async count(tenantId: string): Promise<number> {
      const row = await kysely
        .selectFrom('sso_connections')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('tenant_id', '=', tenantId)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    /** False when the tenant has no such connection. */
    async update(
      tenantId: string,
      id: string,
      settings: Omit<ConnectionSettings, 'domains'>,
      secretBox: string | null | undefined,
    ): Promise<boolean> {
      const result = await kysely
        .updateTable('sso_connections')
        .set({
          ...columnsOf(settings),
          ...(secretBox === undefined ? {} : { secret_box: secretBox }),
          updated_ms: now(),
        })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    /**
     * Makes `domains` exactly the connection's claims. The primary key decides a domain
     * another connection holds (two tenants racing for one domain: one wins).
     */
    async claimDomains(
      tenantId: string,
      id: string,
      domains: readonly string[],
    ): Promise<ClaimOutcome> {
      await kysely.deleteFrom('sso_domains').where('connection_id', '=', id).execute();
      for (const domain of domains) {
        const holder = await kysely
          .selectFrom('sso_domains')
          .select('connection_id')
          .where('domain', '=', domain)
          .executeTakeFirst();
        if (holder) return { ok: false, domain };
        try {
          await kysely
            .insertInto('sso_domains')
            .values({ domain, connection_id: id, tenant_id: tenantId })
            .execute();
        } catch (error) {
          if (isUniqueViolation(error)) return { ok: false, domain };
          throw error;
        }
      }
      return { ok: true };
    },

    /** The enabled connection claiming an email domain; undefined when none does. */
    async findByDomain(domain: string): Promise<SsoConnection | undefined> {
      const claim = await kysely
        .selectFrom('sso_domains')
        .select('connection_id')
        .where('domain', '=', domain)
        .executeTakeFirst();
      if (!claim) return undefined;
      const row = await findRow(claim.connection_id);
      if (!row || Number(row.enabled) !== 1) return undefined;
      return (await withDomains([row]))[0];
    },

    /** False when the tenant has no such connection. Its domains, links and requests go with it. */
    async delete(tenantId: string, id: string): Promise<boolean> {
      await kysely.deleteFrom('sso_domains').where('connection_id', '=', id).execute();
      const result = await kysely
        .deleteFrom('sso_connections')
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    },
  };
}

export type ConnectionStore = ReturnType<typeof createConnectionStore>;
