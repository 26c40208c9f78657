import { createTransport } from 'nodemailer';
import type { Config } from '../../config/schema.ts';

/** One message as the transport sends it. */
export interface OutgoingEmail {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  /** The same on every attempt, so a receiver can drop a message delivered twice. */
  readonly messageId: string;
  readonly template: string;
}

export interface EmailTransport {
  send(message: OutgoingEmail): Promise<void>;
  close(): void;
}

/** Why an attempt failed, and whether trying again could help. */
export interface SendFailure {
  readonly message: string;
  /** The server refused this message for good (see describeFailure). */
  readonly permanent: boolean;
}

/**
 * Only a 5xx answer about the message itself is permanent: to RCPT TO (no such
 * recipient) or to DATA (the content refused). A 5xx anywhere else is about this
 * server's settings, not the message: AUTH (wrong credentials), STARTTLS (required by
 * smtp_require_tls but not offered), MAIL FROM (the From address refused). Those are
 * retried, so that every queued message is still sent once the operator fixes them.
 */
export function describeFailure(error: unknown): SendFailure {
  const { message, responseCode, command } = error as {
    message?: string;
    responseCode?: number;
    command?: string;
  };
  const refused = typeof responseCode === 'number' && responseCode >= 500 && responseCode < 600;
  return {
    message: String(message ?? error).slice(0, 500),
    permanent: refused && (command === 'RCPT TO' || command === 'DATA'),
  };
}

type EmailSettings = Config['email'];

/**
 * nodemailer's SMTP transport from the settings: smtps:// speaks TLS from the start,
 * smtp:// upgrades with STARTTLS when the server offers it (and must, with
 * smtp_require_tls). Credentials from the URL, else smtp_user and smtp_password.
 */
function smtpOptions(settings: EmailSettings) {
  const url = new URL(settings.smtp_url);
  const secure = url.protocol === 'smtps:';
  const user = decodeURIComponent(url.username) || settings.smtp_user;
  const pass = decodeURIComponent(url.password) || settings.smtp_password;
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : secure ? 465 : 587,
    secure,
    requireTLS: !secure && settings.smtp_require_tls,
    ...(user ? { auth: { user, pass } } : {}),
    connectionTimeout: settings.smtp_timeout_ms,
    greetingTimeout: settings.smtp_timeout_ms,
    socketTimeout: settings.smtp_timeout_ms,
  };
}

function messageOf(settings: EmailSettings, message: OutgoingEmail) {
  return {
    from: settings.from,
    to: message.to,
    subject: message.subject,
    text: message.text,
    html: message.html,
    messageId: message.messageId,
    headers: { 'X-Tessera-Template': message.template },
  };
}

/**
 * The transport `email.transport` names; undefined for `none`. `log` builds the whole
 * message (headers and MIME parts) as SMTP would send it, and hands it to `log`.
 */
export function openTransport(
  settings: EmailSettings,
  log: (raw: string, message: OutgoingEmail) => void,
): EmailTransport | undefined {
  if (settings.transport === 'none') return undefined;
  if (settings.transport === 'log') {
    const mailer = createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
    return {
      async send(message) {
        const info = await mailer.sendMail(messageOf(settings, message));
        log(String(info.message), message);
      },
      close: () => mailer.close(),
    };
  }
  const mailer = createTransport(smtpOptions(settings));
  return {
    async send(message) {
      await mailer.sendMail(messageOf(settings, message));
    },
    close: () => mailer.close(),
  };
}
