import type { AuditContext } from '../../access/audit-context.ts';
import { SYSTEM_TENANT } from '../../access/roles.ts';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { Config } from '../../config/schema.ts';
import type { Mailer } from '../../email/mailer.ts';
import { durationWords } from '../../email/templates/duration-words.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { AnyKysely, DatabaseBase } from '../../storage/database.ts';
import { createEmailTokenStore } from '../email-tokens/email-token-store.ts';
import { IdentityErrors } from '../errors.ts';
import type { NewAccountPlacement } from '../tenancy-port.ts';
import { normalizeEmail } from '../users/normalize-email.ts';
import { createUserStore, type User } from '../users/user-store.ts';
import type { AuthAudit } from './auth-audit.ts';
import { hashPassword } from './passwords.ts';
import { requireStrongPassword } from './require-strong-password.ts';

/** Where the verification email's link leads (the page is the verification flow's). */
const VERIFY_PATH = '/auth/email/verify';

/**
 * Self-service sign-up, moved out of auth-service.ts: it answers to the `auth.registration`
 * setting, not to sessions or lockout, so it shares nothing with the login flows.
 */
export interface RegisterUserDeps {
  readonly db: Pick<DatabaseBase, 'transaction'>;
  readonly audit: AuditLog;
  readonly audits: AuthAudit;
  readonly auth: Pick<
    Config['auth'],
    'registration' | 'password_min_length' | 'email_verification_ttl_seconds'
  >;
  /** Sends the verification email (new address) or `account_exists` (taken); default: none. */
  readonly mailer?: Mailer | undefined;
  /** Tenancy's: the tenant a new account joins or gets; default: none. */
  readonly newAccounts?: NewAccountPlacement | undefined;
}

export interface SignUp {
  readonly email: string;
  readonly password: string;
  readonly name?: string | undefined;
  /** The name of the account's own tenant, with `auth.registration_creates_tenant`. */
  readonly tenant_name?: string | undefined;
}

/** The answer to every accepted sign-up, new address or taken: it tells nobody which. */
export interface SignUpAccepted {
  readonly status: 'accepted';
  readonly email: string;
}

/** Another sign-up took the address between our read and insert: the retry sees it. */
class AddressRaced extends Error {}

export function createRegisterUser(deps: RegisterUserDeps) {
  const { audits, mailer } = deps;
  const ttlSeconds = deps.auth.email_verification_ttl_seconds;

  /** The owner of a taken address hears of the attempt; the caller learns nothing. */
  async function answerTaken(trx: AnyKysely, owner: User, context: AuditContext) {
    await mailer?.queueIn(trx, {
      kind: 'account_exists',
      to: owner.email,
      tenantId: null,
      values: {
        name: owner.name ?? '',
        login_hint: 'Sign in with this address; if you forgot your password, ask for a reset.',
      },
    });
    await deps.audit.inTransaction(trx, { ...context, actor: null, actor_type: 'anonymous' }, [
      {
        ...audits.entry(SYSTEM_TENANT, 'user.registration_repeated', `user:${owner.id}`, {
          email: owner.email,
          notified: mailer?.configured ?? false,
        }),
        outcome: 'failure',
      },
    ]);
  }

  async function createAccount(
    trx: AnyKysely,
    input: SignUp & { password_hash: string },
    context: AuditContext,
  ) {
    const inserted = await createUserStore({ kysely: trx }).insert({
      email: input.email,
      name: input.name,
      password_hash: input.password_hash,
    });
    // On PostgreSQL the failed insert spoiled the transaction: the caller retries it.
    if (!inserted.ok) throw new AddressRaced();
    const { user } = inserted;
    const placed = (await deps.newAccounts?.place(trx, {
      user_id: user.id,
      email: user.email,
      tenant_name: input.tenant_name,
    })) ?? { tenant_id: null, entries: [] };
    const verification = mailer?.configured === true;
    if (verification) {
      const { token } = await createEmailTokenStore(trx).issue(
        'verify_email',
        { user_id: user.id, tenant_id: placed.tenant_id, email: user.email, redirect_uri: null },
        ttlSeconds * 1000,
      );
      await mailer.queueIn(trx, {
        kind: 'verify_email',
        to: user.email,
        tenantId: placed.tenant_id,
        values: {
          link: mailer.linkTo(VERIFY_PATH, token),
          expires_in: durationWords(ttlSeconds),
          name: user.name ?? '',
        },
      });
    }
    // It belongs to no tenant's trail but the one it joined: the platform's records it.
    await deps.audit.inTransaction(trx, { ...context, actor: user.id, actor_type: 'user' }, [
      audits.entry(SYSTEM_TENANT, 'user.registered', `user:${user.id}`, {
        email: user.email,
        tenant_id: placed.tenant_id,
        verification_sent: verification,
      }),
      ...placed.entries,
    ]);
  }

  /**
   * Creates an account (`auth.registration = "open"`), placed as tenancy decides
   * (`auth.registration_tenant` or a tenant of its own, else none), and sends it a
   * verification email. Never tells whether the address was taken: a taken one gets
   * the same answer after the same work (the password hashed, the placement checked),
   * creates nothing, and its owner gets an `account_exists` email instead.
   */
  return async function register(input: SignUp, context: AuditContext): Promise<SignUpAccepted> {
    if (deps.auth.registration === 'disabled') {
      throw new TesseraError(
        IdentityErrors.registration_disabled,
        'Self-service registration is disabled on this server.',
      );
    }
    if (deps.auth.registration === 'invite') {
      throw new TesseraError(
        IdentityErrors.invitation_required,
        'Registration on this server needs an invitation.',
      );
    }
    requireStrongPassword(input.password, deps.auth.password_min_length);
    const email = normalizeEmail(input.email);
    const passwordHash = await hashPassword(input.password);
    const attempt = () =>
      deps.db.transaction(async (trx: AnyKysely) => {
        await deps.newAccounts?.check(trx, input);
        const owner = await createUserStore({ kysely: trx }).findByEmail(email);
        if (owner) await answerTaken(trx, owner, context);
        else await createAccount(trx, { ...input, email, password_hash: passwordHash }, context);
      });
    try {
      await attempt();
    } catch (error) {
      if (!(error instanceof AddressRaced)) throw error;
      await attempt();
    }
    mailer?.flush();
    return { status: 'accepted', email };
  };
}
