import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { Config } from '../../src/config/schema.ts';
import type { Engine } from '../../src/storage/database.ts';
import type { DeepPartial } from './app.ts';
import { type ReceivedMail, type SmtpSink, startSmtpSink, tokenFrom } from './smtp-sink.ts';
import type { Credential, Reply } from './tenancy-fixture.ts';
import { type UsersTestApp, usersTestApp } from './tenancy-users-fixture.ts';
import { until } from './until.ts';

export const ACCEPT_PATH = '/auth/invitations/accept';

export interface InvitationTestApp extends UsersTestApp {
  readonly sink: SmtpSink;
  /** `POST /invitations` as `as`. */
  invite(as: Credential, email: string, role: string, teamIds?: string[]): Promise<Reply>;
  /** Waits for the `count`th message of `template` to `to` (1: the first); returns it. */
  mail(to: string, template: string, count?: number): Promise<ReceivedMail>;
  /** The token of the `count`th invitation email to `to`. */
  invitationToken(to: string, count?: number): Promise<string>;
  /** How many messages the outbox holds for `to` (queued or sent). */
  outboxCount(to: string): Promise<number>;
  /** `POST /auth/invitations/accept`, signed in as `as` when given. */
  acceptLink(
    body: { token: string; password?: string; name?: string },
    as?: Credential,
  ): Promise<Reply>;
}

/** The users' test app sending real email to an SMTP sink (both closed after the test). */
export async function invitationTestApp(
  t: Pick<TestContext, 'after'>,
  engine: Engine,
  overrides: DeepPartial<Config> = {},
): Promise<InvitationTestApp> {
  const sink = await startSmtpSink();
  t.after(() => sink.close());
  const base = await usersTestApp(t, engine, {
    ...overrides,
    email: { transport: 'smtp', smtp_url: sink.url, ...overrides.email },
  });
  const mail = async (to: string, template: string, count = 1) => {
    const matching = () => sink.to(to).filter((received) => received.template === template);
    await until(() => matching().length >= count, `${count} ${template} email(s) to ${to}`);
    return matching()[count - 1] as ReceivedMail;
  };
  return {
    ...base,
    sink,
    invite: (as, email, role, teamIds) =>
      base.send('POST', '/invitations', as, {
        email,
        role,
        ...(teamIds === undefined ? {} : { team_ids: teamIds }),
      }),
    mail,
    async invitationToken(to, count = 1) {
      const token = tokenFrom(await mail(to, 'invitation', count), ACCEPT_PATH);
      assert.match(token, /^tsi_/);
      return token;
    },
    async outboxCount(to) {
      const rows = await base.db.kysely
        .selectFrom('email_outbox')
        .select('id')
        .where('recipient', '=', to)
        .execute();
      return rows.length;
    },
    acceptLink: (body, as = null) => base.send('POST', '/auth/invitations/accept', as, body),
  };
}

/**
 * For a suite whose tests share one app (each in tenants and addresses of its own):
 * collects what the fixtures would have a test run after it, and runs it, last added
 * first, when the suite's `after` calls `close`.
 */
export function suiteScope(): Pick<TestContext, 'after'> & { close(): Promise<void> } {
  const cleanups: (() => unknown)[] = [];
  return {
    after(fn) {
      if (fn) cleanups.push(() => fn(undefined as never, () => {}));
    },
    async close() {
      for (const cleanup of cleanups.reverse()) await cleanup();
    },
  };
}
