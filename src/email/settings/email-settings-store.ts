import type { Kysely } from 'kysely';
import type { AnyKysely } from '../../storage/database.ts';
import type { Tables } from '../../storage/tables.ts';
import { type Branding, DEFAULT_BRANDING } from '../templates/branding.ts';
import type { TemplateParts } from '../templates/default-templates.ts';
import type { EmailKind } from '../templates/kinds.ts';

type SettingsTables = Pick<Tables, 'email_settings' | 'email_templates'>;

/** A tenant's saved template of one kind, with when it was saved. */
export interface SavedTemplate extends TemplateParts {
  readonly kind: EmailKind;
  readonly updated_ms: number;
}

/** Tenants' branding and template overrides (migration 0012), on `db` or a transaction. */
export function createEmailSettingsStore(db: AnyKysely, now: () => number = Date.now) {
  const kysely: Kysely<SettingsTables> = db;
  return {
    /** The tenant's branding, defaults filled in for what it never set. */
    async branding(tenantId: string | null): Promise<Branding> {
      if (tenantId === null) return DEFAULT_BRANDING;
      const row = await kysely
        .selectFrom('email_settings')
        .select('branding')
        .where('tenant_id', '=', tenantId)
        .executeTakeFirst();
      return row
        ? { ...DEFAULT_BRANDING, ...(JSON.parse(row.branding) as Partial<Branding>) }
        : DEFAULT_BRANDING;
    },

    async putBranding(tenantId: string, branding: Branding): Promise<void> {
      const values = { branding: JSON.stringify(branding), updated_ms: now() };
      await kysely
        .insertInto('email_settings')
        .values({ tenant_id: tenantId, ...values })
        .onConflict((conflict) => conflict.column('tenant_id').doUpdateSet(values))
        .execute();
    },

    async template(tenantId: string | null, kind: EmailKind): Promise<SavedTemplate | undefined> {
      if (tenantId === null) return undefined;
      const row = await kysely
        .selectFrom('email_templates')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('kind', '=', kind)
        .executeTakeFirst();
      return row && toTemplate(row);
    },

    async templates(tenantId: string): Promise<SavedTemplate[]> {
      const rows = await kysely
        .selectFrom('email_templates')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .orderBy('kind')
        .execute();
      return rows.map(toTemplate);
    },

    async putTemplate(tenantId: string, kind: EmailKind, parts: TemplateParts): Promise<void> {
      const values = {
        subject: parts.subject,
        text_body: parts.text,
        html_body: parts.html,
        updated_ms: now(),
      };
      await kysely
        .insertInto('email_templates')
        .values({ tenant_id: tenantId, kind, ...values })
        .onConflict((conflict) => conflict.columns(['tenant_id', 'kind']).doUpdateSet(values))
        .execute();
    },

    /** True when there was one to delete. */
    async deleteTemplate(tenantId: string, kind: EmailKind): Promise<boolean> {
      const result = await kysely
        .deleteFrom('email_templates')
        .where('tenant_id', '=', tenantId)
        .where('kind', '=', kind)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}

function toTemplate(row: {
  kind: string;
  subject: string;
  text_body: string;
  html_body: string;
  updated_ms: number;
}): SavedTemplate {
  return {
    kind: row.kind as EmailKind,
    subject: row.subject,
    text: row.text_body,
    html: row.html_body,
    updated_ms: Number(row.updated_ms),
  };
}
