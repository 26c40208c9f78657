import type { Kysely } from 'kysely';
import type { AnyKysely } from '../../storage/database.ts';
import type { Tables } from '../../storage/tables.ts';

type IdentityTables = Pick<Tables, 'sso_identities'>;

/** `sso_identities`: which account an IdP subject is, per connection, and its last SSO sign-in. */
export function createSsoIdentityStore(on: AnyKysely, now: () => number = Date.now) {
  const kysely: Kysely<IdentityTables> = on;
  return {
    async userOf(connectionId: string, subject: string): Promise<string | undefined> {
      const row = await kysely
        .selectFrom('sso_identities')
        .select('user_id')
        .where('connection_id', '=', connectionId)
        .where('subject', '=', subject)
        .executeTakeFirst();
      return row?.user_id;
    },

    /** Links the subject to the account (again) and records this sign-in. */
    async signedIn(
      connectionId: string,
      subject: string,
      userId: string,
      tenantId: string,
    ): Promise<void> {
      const at = now();
      await kysely
        .insertInto('sso_identities')
        .values({
          connection_id: connectionId,
          subject,
          user_id: userId,
          tenant_id: tenantId,
          created_ms: at,
          last_login_ms: at,
        })
        .onConflict((conflict) =>
          conflict
            .columns(['connection_id', 'subject'])
            .doUpdateSet({ user_id: userId, tenant_id: tenantId, last_login_ms: at }),
        )
        .execute();
    },

    /**
     * Members of the tenant who signed in through SSO, none of them since `beforeMs`
     * (their latest SSO sign-in, over every connection): deprovisioning's candidates.
     * At most `limit`, by user id after `after`.
     */
    async staleMembers(
      tenantId: string,
      beforeMs: number,
      page: { after?: string | undefined; limit: number },
    ): Promise<string[]> {
      let query = kysely
        .selectFrom('sso_identities')
        .select('user_id')
        .where('tenant_id', '=', tenantId)
        .groupBy('user_id')
        .having((eb) => eb.fn.max('last_login_ms'), '<', beforeMs)
        .orderBy('user_id')
        .limit(page.limit);
      if (page.after !== undefined) query = query.where('user_id', '>', page.after);
      return (await query.execute()).map((row) => row.user_id);
    },
  };
}

export type SsoIdentityStore = ReturnType<typeof createSsoIdentityStore>;
