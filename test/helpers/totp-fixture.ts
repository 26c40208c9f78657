import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import type { Config } from '../../src/config/schema.ts';
import type { SecondFactorVerifier } from '../../src/identity/mfa/second-factor.ts';
import type { Engine } from '../../src/storage/database.ts';
import type { Database } from '../../src/storage/open-database.ts';
import type { Tables } from '../../src/storage/tables.ts';
import type { DeepPartial } from './app.ts';
import { type EmailLinkApp, emailLinkApp, type Tokens } from './email-link-fixture.ts';
import { totpCode } from './totp.ts';

/**
 * The clock of TOTP steps and of proofs' ages (ServiceOptions.mfaNow): real time
 * shifted by hand, or frozen in the middle of a 30-second step so that "one step
 * ahead" cannot become "the current step" while a test runs.
 */
export interface MfaClock {
  now(): number;
  /** Freezes at the middle of the current step; returns that instant. */
  freeze(): number;
  /** Moves by `ms` (frozen or not). */
  shift(ms: number): void;
  /** Real time again. */
  reset(): void;
}

export function mfaClock(): MfaClock {
  let frozen: number | undefined;
  let offset = 0;
  return {
    now: () => (frozen ?? Date.now()) + offset,
    freeze() {
      frozen = Math.floor(Date.now() / 30_000) * 30_000 + 15_000;
      offset = 0;
      return frozen;
    },
    shift(ms) {
      offset += ms;
    },
    reset() {
      frozen = undefined;
      offset = 0;
    },
  };
}

export interface TotpApp extends EmailLinkApp {
  readonly clock: MfaClock;
  /** A verifier of the app's services, by method. */
  verifier(method: 'totp' | 'recovery_code'): SecondFactorVerifier;
}

/** emailLinkApp (a real SMTP sink) whose MFA clock the test drives. */
export async function totpApp(
  engine: Engine,
  overrides: DeepPartial<Config> = {},
): Promise<TotpApp> {
  const clock = mfaClock();
  const app = await emailLinkApp(engine, overrides, { mfaNow: () => clock.now() });
  return Object.assign(app, {
    clock,
    verifier: (method: string) => verifierOf(app.test.services.identity.factorVerifiers, method),
  });
}

export function verifierOf(
  verifiers: readonly SecondFactorVerifier[],
  method: string,
): SecondFactorVerifier {
  const found = verifiers.find((verifier) => verifier.method === method);
  assert.ok(found, `no ${method} verifier`);
  return found;
}

export interface Enrolled {
  readonly secret: string;
  readonly recoveryCodes: string[];
}

/**
 * Enrolls and confirms TOTP through the API with the session `tokens`, the code
 * computed by the independent implementation at `stepOffset` from the clock's step.
 */
export async function enrollTotp(
  app: EmailLinkApp,
  tokens: Tokens,
  now: () => number,
  stepOffset = 0,
): Promise<Enrolled> {
  const started = await app.api('POST', '/auth/mfa/totp', { as: tokens.access });
  assert.equal(started.status, 200, started.text);
  const secret = String(started.body.secret);
  const confirmed = await app.api('POST', '/auth/mfa/totp/confirm', {
    as: tokens.access,
    body: { code: totpCode(secret, now(), stepOffset) },
  });
  assert.equal(confirmed.status, 200, confirmed.text);
  return { secret, recoveryCodes: confirmed.body.recovery_codes as string[] };
}

type FactorTables = Pick<Tables, 'totp_factors' | 'recovery_codes' | 'passkeys'>;

/** What no API shows: the stored rows of a user's factor and codes. */
export async function factorRows(db: Database, userId: string) {
  const kysely: Kysely<FactorTables> = db.kysely;
  const totp = await kysely
    .selectFrom('totp_factors')
    .selectAll()
    .where('user_id', '=', userId)
    .executeTakeFirst();
  const codes = await kysely
    .selectFrom('recovery_codes')
    .selectAll()
    .where('user_id', '=', userId)
    .execute();
  return { totp, codes };
}

/**
 * A passkey row as registration would leave it (no ceremony: these tests are about
 * TOTP and recovery codes beside another factor).
 */
export async function addPasskeyRow(db: Database, userId: string, tenantId: string): Promise<void> {
  const kysely: Kysely<FactorTables> = db.kysely;
  await kysely
    .insertInto('passkeys')
    .values({
      id: `cred-${userId}`,
      user_id: userId,
      tenant_id: tenantId,
      name: 'Test key',
      public_key: 'pQECAyYgASFYIA',
      counter: 0,
      device_type: 'singleDevice',
      backed_up: 0,
      aaguid: null,
      created_ms: Date.now(),
      last_used_ms: null,
    })
    .execute();
}
