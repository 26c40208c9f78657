import type { Config } from '../config/schema.ts';
import { TesseraError } from '../platform/errors.ts';
import { newId } from '../platform/secrets.ts';
import type { AnyKysely } from '../storage/database.ts';
import { EmailErrors } from './errors.ts';
import { insertOutboxRow } from './outbox/outbox-store.ts';
import { createEmailSettingsStore } from './settings/email-settings-store.ts';
import { DEFAULT_TEMPLATES } from './templates/default-templates.ts';
import type { EmailKind } from './templates/kinds.ts';
import { renderParts, variablesFor } from './templates/render.ts';

/** One message to queue: its kind, recipient, whose branding, and its variables. */
export interface EmailRequest {
  readonly kind: EmailKind;
  readonly to: string;
  /** Whose branding and templates; null: the platform's defaults. */
  readonly tenantId: string | null;
  /** The kind's variables, plus `name` and `tenant_name` where known. */
  readonly values: Readonly<Record<string, string>>;
}

/**
 * What every other domain uses to send email: `queueIn` renders the message with the
 * tenant's branding and templates and writes it to the outbox in the caller's
 * transaction, so the email exists if and only if the change that causes it commits.
 * The caller calls `flush()` after the commit, so this node sends it at once.
 */
export interface Mailer {
  /** Whether email can leave (`email.transport` is not `none`). */
  readonly configured: boolean;
  /** For a route that must send email: 503 `email_not_configured` when none can. */
  requireConfigured(): void;
  /** Queues the message on `trx`; does nothing when email is not configured. */
  queueIn(trx: AnyKysely, request: EmailRequest): Promise<void>;
  /** Tells this node's sender that mail was queued (after the commit). */
  flush(): void;
  /** `<server.public_url><path>?token=<token>`: where an email's link leads. */
  linkTo(path: string, token: string): string;
  /** The sender subscribes here (app.ts); returns how to unsubscribe. */
  onQueued(listener: () => void): () => void;
}

/** `server.public_url`, else the listening address. */
export function publicUrlOf(config: Pick<Config, 'server'>): string {
  if (config.server.public_url !== '') return config.server.public_url.replace(/\/+$/, '');
  const { host, port } = config.server;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The domain of the From address, for Message-IDs (`<id@domain>`). */
function messageIdDomain(from: string): string {
  const address = /<([^>]+)>/.exec(from)?.[1] ?? from;
  return address.split('@')[1]?.trim() || 'tessera.invalid';
}

/**
 * Refuses settings no email could leave with, at composition (server and CLI alike),
 * before anything is started: a clear message instead of a sender failing forever.
 */
export function checkEmailSettings(settings: Config['email']): void {
  if (settings.transport !== 'smtp') return;
  if (settings.smtp_url === '') {
    throw new Error(
      'email.transport is "smtp" but email.smtp_url is empty: set it (smtp://host:587 or smtps://host:465), or set email.transport to "none" or "log"',
    );
  }
  if (!URL.canParse(settings.smtp_url) || new URL(settings.smtp_url).hostname === '') {
    throw new Error('email.smtp_url is not a URL with a host, e.g. smtp://mail.example.com:587');
  }
}

export function createMailer(config: Pick<Config, 'email' | 'server'>, now = Date.now): Mailer {
  checkEmailSettings(config.email);
  const configured = config.email.transport !== 'none';
  const base = publicUrlOf(config);
  const domain = messageIdDomain(config.email.from);
  const listeners = new Set<() => void>();
  return {
    configured,
    requireConfigured() {
      if (!configured) {
        throw new TesseraError(
          EmailErrors.email_not_configured,
          'This server sends no email (email.transport is "none"); ask its operator to configure it.',
        );
      }
    },
    async queueIn(trx, request) {
      if (!configured) return;
      const settings = createEmailSettingsStore(trx);
      const branding = await settings.branding(request.tenantId);
      const own = await settings.template(request.tenantId, request.kind);
      const scope = variablesFor(request.kind, branding, {
        ...request.values,
        recipient: request.to,
      });
      // A tenant's template was checked when saved; should it still fail (a limit it
      // reaches only with these values), the default is sent rather than nothing.
      const rendered = await renderParts(own ?? DEFAULT_TEMPLATES[request.kind], scope).catch(
        (error: unknown) => {
          if (!own) throw error;
          return renderParts(DEFAULT_TEMPLATES[request.kind], scope);
        },
      );
      const id = newId();
      await insertOutboxRow(
        trx,
        {
          id,
          tenant_id: request.tenantId,
          template: request.kind,
          recipient: request.to,
          subject: rendered.subject,
          text_body: rendered.text,
          html_body: rendered.html,
          message_id: `<${id}@${domain}>`,
        },
        now(),
      );
    },
    flush() {
      for (const listener of listeners) listener();
    },
    linkTo(path, token) {
      return `${base}${path}?token=${encodeURIComponent(token)}`;
    },
    onQueued(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
