import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { until } from './until.ts';

/** One message the sink received: parsed, with its envelope recipients. */
export interface ReceivedMail {
  readonly to: readonly string[];
  readonly parsed: ParsedMail;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  readonly messageId: string;
  /** The X-Tessera-Template header: which kind of message. */
  readonly template: string;
  /** The credentials the client authenticated with (AUTH); undefined when it did not. */
  readonly auth: SmtpCredentials | undefined;
}

export interface SmtpCredentials {
  readonly username: string;
  readonly password: string;
}

export interface SmtpSink {
  readonly port: number;
  /** `smtp://127.0.0.1:<port>`, for `email.smtp_url`. */
  readonly url: string;
  readonly messages: ReceivedMail[];
  /** Messages refused so far (`refuseWith`): each is an attempt the sender made. */
  readonly refusals: number;
  /** Waits until a message to `to` (of `template`, when given) has arrived; returns the latest. */
  waitFor(to: string, template?: string): Promise<ReceivedMail>;
  /** Messages to `to` so far. */
  to(address: string): ReceivedMail[];
  close(): Promise<void>;
}

export interface SmtpSinkOptions {
  /** Listen on this port (to come back on the port a server was configured with); default: any. */
  readonly port?: number;
  /** Refuse messages with this SMTP reply code: 550 is permanent, 451 asks to retry. */
  readonly refuseWith?: number;
  /** With `refuseWith`: refuse only the first this many messages, accept the rest. */
  readonly refuseFirst?: number;
}

/**
 * A real SMTP server (the `smtp-server` package) on 127.0.0.1 that keeps every message
 * it receives, parsed by `mailparser`: the sink the email tests send to. It accepts any
 * sender and recipient, with or without authentication (any credentials, recorded with
 * each message, over plain text since it offers no STARTTLS).
 */
export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const messages: ReceivedMail[] = [];
  let refusals = 0;
  const server = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, callback) {
      const credentials: SmtpCredentials = {
        username: auth.username ?? '',
        password: auth.password ?? '',
      };
      callback(null, { user: credentials });
    },
    onData(stream, session, callback) {
      const refuse =
        options.refuseWith !== undefined &&
        (options.refuseFirst === undefined || refusals < options.refuseFirst);
      if (refuse) {
        refusals++;
        stream.resume();
        stream.on('end', () => {
          const error = Object.assign(new Error('refused by the test sink'), {
            responseCode: options.refuseWith,
          });
          callback(error);
        });
        return;
      }
      simpleParser(stream)
        .then((parsed) => {
          const header = parsed.headers.get('x-tessera-template');
          messages.push({
            to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
            parsed,
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            html: typeof parsed.html === 'string' ? parsed.html : '',
            messageId: parsed.messageId ?? '',
            template: typeof header === 'string' ? header : '',
            auth: session.user as SmtpCredentials | undefined,
          });
          callback();
        })
        .catch((error: Error) => callback(error));
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  const to = (address: string) => messages.filter((mail) => mail.to.includes(address));
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    get refusals() {
      return refusals;
    },
    to,
    async waitFor(address, template) {
      const matching = () =>
        to(address).filter((mail) => template === undefined || mail.template === template);
      await until(() => matching().length > 0, `an email to ${address} arrives`);
      return matching().at(-1) as ReceivedMail;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The `token` query parameter of the first link in the message's text to `path`. */
export function tokenFrom(mail: ReceivedMail, path: string): string {
  for (const match of mail.text.matchAll(/https?:\/\/\S+/g)) {
    const url = new URL(match[0]);
    if (url.pathname === path) {
      const token = url.searchParams.get('token');
      if (token) return token;
    }
  }
  throw new Error(`no link to ${path} with a token in: ${mail.text}`);
}
