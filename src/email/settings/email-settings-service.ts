import type { Actor } from '../../access/actor.ts';
import type { Principal } from '../../access/principal.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import { type FieldError, TesseraError } from '../../platform/errors.ts';
import { validationFailed } from '../../platform/validation-failed.ts';
import type { AnyKysely, DatabaseBase } from '../../storage/database.ts';
import { EmailErrors } from '../errors.ts';
import type { Branding } from '../templates/branding.ts';
import { DEFAULT_TEMPLATES, type TemplateParts } from '../templates/default-templates.ts';
import { EMAIL_KINDS, type EmailKind, isEmailKind, variableNames } from '../templates/kinds.ts';
import {
  checkTemplate,
  type RenderedEmail,
  renderParts,
  sampleScope,
} from '../templates/render.ts';
import { createEmailSettingsStore } from './email-settings-store.ts';

/** Longest subject a template may have, in characters. */
export const SUBJECT_MAX_LENGTH = 500;
/** Largest text or HTML part, in bytes of UTF-8 (100 KB). */
export const BODY_MAX_BYTES = 100 * 1024;

/** One kind's template as the tenant's emails use it: its own, or the default. */
export interface TemplateView extends TemplateParts {
  readonly kind: EmailKind;
  /** Whether the tenant saved its own (false: the default). */
  readonly custom: boolean;
  readonly variables: readonly string[];
  /** When the tenant saved it; null for the default. */
  readonly updated_ms: number | null;
}

export interface EmailSettingsService {
  /** The caller's tenant's branding, defaults filled in. */
  branding(principal: Principal): Promise<Branding>;
  /** A tenant's branding, defaults filled in (the OpenID Provider's hosted pages). */
  brandingOfTenant(tenantId: string): Promise<Branding>;
  /** Replaces the caller's tenant's branding. */
  putBranding(actor: Actor, branding: Branding): Promise<Branding>;
  /** Every kind, in the order of EMAIL_KINDS. */
  templates(principal: Principal): Promise<TemplateView[]>;
  template(principal: Principal, kind: string): Promise<TemplateView>;
  /** Saves the tenant's own template of `kind`, once it renders with sample values. */
  putTemplate(actor: Actor, kind: string, parts: TemplateParts): Promise<TemplateView>;
  /** Drops the tenant's own template: the default applies again. */
  resetTemplate(actor: Actor, kind: string): Promise<void>;
  /** Renders `parts` with sample values and the tenant's branding; nothing is saved. */
  preview(principal: Principal, kind: string, parts: TemplateParts): Promise<RenderedEmail>;
}

export interface EmailSettingsServiceDeps {
  readonly db: Pick<DatabaseBase, 'kysely' | 'transaction'>;
  readonly audit: AuditLog;
  readonly now?: () => number;
}

function checkKind(kind: string): EmailKind {
  if (!isEmailKind(kind)) {
    throw new TesseraError(
      EmailErrors.template_not_found,
      `There is no email template of kind ${JSON.stringify(kind)}; the kinds are ${EMAIL_KINDS.join(', ')}.`,
      { extensions: { kind } },
    );
  }
  return kind;
}

/**
 * What no schema says about branding: the logo must be an https URL a mail client can
 * load (not a data: or javascript: one, nor one carrying credentials). The schema
 * bounds the other fields.
 */
function checkBranding(branding: Branding): Branding {
  const errors: FieldError[] = [];
  if (branding.logo_url !== '') {
    const url = URL.canParse(branding.logo_url) ? new URL(branding.logo_url) : undefined;
    if (url?.protocol !== 'https:' || url.username !== '' || url.password !== '') {
      errors.push({
        path: '/logo_url',
        message: 'must be empty or an https URL without credentials',
      });
    }
  }
  if (errors.length > 0) throw validationFailed(errors);
  // One spelling, so the stored branding compares equal however it was typed.
  return { ...branding, color: branding.color.toLowerCase() };
}

/**
 * Checks parts a tenant wrote: within the size limits, then rendered with the kind's
 * sample values, so a template that cannot render is refused before any email uses it.
 */
async function checkParts(kind: EmailKind, parts: TemplateParts, branding: Branding) {
  const errors: FieldError[] = [];
  if (parts.subject.length > SUBJECT_MAX_LENGTH) {
    errors.push({ path: '/subject', message: `longer than ${SUBJECT_MAX_LENGTH} characters` });
  }
  for (const part of ['text', 'html'] as const) {
    if (Buffer.byteLength(parts[part], 'utf8') > BODY_MAX_BYTES) {
      errors.push({ path: `/${part}`, message: `larger than ${BODY_MAX_BYTES} bytes (100 KB)` });
    }
  }
  // Rendering is bounded work, but no reason to spend it on parts refused anyway.
  if (errors.length === 0) {
    for (const problem of await checkTemplate(kind, parts, branding)) {
      errors.push({ path: `/${problem.part}`, message: problem.message });
    }
  }
  if (errors.length > 0) {
    throw new TesseraError(
      EmailErrors.invalid_template,
      errors.map((error) => `${error.path.slice(1)}: ${error.message}`).join('; '),
      { errors, extensions: { kind } },
    );
  }
}

/**
 * `/api/v1/email/branding` and `/api/v1/email/templates`: how the emails of the
 * caller's tenant look. The routes require `tenant:read` or `tenant:manage`; the tenant
 * is always the principal's. Every change is audited in its own transaction.
 */
export function createEmailSettingsService(deps: EmailSettingsServiceDeps): EmailSettingsService {
  const { db, audit } = deps;
  const now = deps.now ?? Date.now;
  const reads = () => createEmailSettingsStore(db.kysely, now);

  function view(kind: EmailKind, own: (TemplateParts & { updated_ms: number }) | undefined) {
    const parts = own ?? DEFAULT_TEMPLATES[kind];
    return {
      kind,
      subject: parts.subject,
      text: parts.text,
      html: parts.html,
      custom: own !== undefined,
      variables: variableNames(kind),
      updated_ms: own?.updated_ms ?? null,
    };
  }

  /** The change, then its audit event last (it holds the log's write lock until commit). */
  async function change<T>(
    actor: Actor,
    action: string,
    target: string,
    details: object,
    write: (trx: AnyKysely, tenantId: string) => Promise<T>,
  ): Promise<T> {
    const tenantId = actor.principal.tenantId;
    return db.transaction(async (trx: AnyKysely) => {
      const result = await write(trx, tenantId);
      await audit.inTransaction(trx, actor.audit, [
        { tenant_id: tenantId, action, target, outcome: 'success', details: { ...details } },
      ]);
      return result;
    });
  }

  return {
    branding: (principal) => reads().branding(principal.tenantId),
    brandingOfTenant: (tenantId) => reads().branding(tenantId),

    async putBranding(actor, branding) {
      const checked = checkBranding(branding);
      await change(
        actor,
        'email.branding_updated',
        `tenant:${actor.principal.tenantId}`,
        checked,
        (trx, tenantId) => createEmailSettingsStore(trx, now).putBranding(tenantId, checked),
      );
      return checked;
    },

    async templates(principal) {
      const own = new Map(
        (await reads().templates(principal.tenantId)).map((saved) => [saved.kind, saved]),
      );
      return EMAIL_KINDS.map((kind) => view(kind, own.get(kind)));
    },

    async template(principal, kind) {
      const known = checkKind(kind);
      return view(known, await reads().template(principal.tenantId, known));
    },

    async putTemplate(actor, kind, parts) {
      const known = checkKind(kind);
      const store = reads();
      await checkParts(known, parts, await store.branding(actor.principal.tenantId));
      await change(
        actor,
        'email.template_updated',
        `email_template:${known}`,
        { kind: known },
        (trx, tenantId) => createEmailSettingsStore(trx, now).putTemplate(tenantId, known, parts),
      );
      return view(known, await store.template(actor.principal.tenantId, known));
    },

    async resetTemplate(actor, kind) {
      const known = checkKind(kind);
      await change(
        actor,
        'email.template_reset',
        `email_template:${known}`,
        { kind: known },
        async (trx, tenantId) => {
          if (!(await createEmailSettingsStore(trx, now).deleteTemplate(tenantId, known))) {
            // Thrown inside the transaction: it rolls back, and no audit event claims a reset.
            throw new TesseraError(
              EmailErrors.template_not_found,
              `This tenant has no template of its own for ${known}: it uses the default already.`,
              { extensions: { kind: known } },
            );
          }
        },
      );
    },

    async preview(principal, kind, parts) {
      const known = checkKind(kind);
      const branding = await reads().branding(principal.tenantId);
      await checkParts(known, parts, branding);
      return renderParts(parts, sampleScope(known, branding));
    },
  };
}
