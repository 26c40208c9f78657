import type { Actor } from '../../access/actor.ts';
import type { Mailer } from '../../email/mailer.ts';
import { durationWords } from '../../email/templates/duration-words.ts';
import { identityIn } from '../../identity/identity-port.ts';
import { digestSecret, newSecret } from '../../platform/secrets.ts';
import type { AnyKysely } from '../../storage/database.ts';

/** Where the invitation email's link leads: the page that accepts it (invitation-page.ts). */
export const ACCEPT_PATH = '/auth/invitations/accept';

/** Readable prefix, so an invitation token in a log or a paste is recognisable. */
const TOKEN_PREFIX = 'tsi_';

/** How invitations reach their invitees: the mailer and how long a link stays valid. */
export interface InvitationDelivery {
  readonly mailer: Mailer;
  /** `auth.invitation_ttl_seconds`. */
  readonly ttlSeconds: number;
}

/** A fresh token and the digest stored in `invitations.token_digest` (never the token). */
export function newInvitationToken(): { token: string; digest: string } {
  const token = newSecret(TOKEN_PREFIX);
  return { token, digest: digestSecret(token) };
}

/** The digest a presented token is looked up by. */
export const invitationDigest = (token: string): string => digestSecret(token);

/**
 * Who invites, as the email names them: a user by name (else email); an API key acts
 * for its tenant, so the tenant's name.
 */
async function inviterOf(trx: AnyKysely, actor: Actor, tenantName: string): Promise<string> {
  const userId = actor.principal.kind === 'user' ? actor.principal.userId : null;
  const user = userId === null ? undefined : await identityIn(trx).users.findById(userId);
  return user ? (user.name ?? user.email) : tenantName;
}

/**
 * Queues the `invitation` email in `trx` (the transaction that writes the invitation),
 * with the tenant's branding; the caller flushes the mailer after the commit.
 */
export async function queueInvitationEmail(
  trx: AnyKysely,
  delivery: InvitationDelivery,
  actor: Actor,
  invitation: {
    tenantId: string;
    tenantName: string;
    to: string;
    inviteeName: string | null;
    roles: readonly string[];
    token: string;
  },
): Promise<void> {
  const { mailer } = delivery;
  await mailer.queueIn(trx, {
    kind: 'invitation',
    to: invitation.to,
    tenantId: invitation.tenantId,
    values: {
      link: mailer.linkTo(ACCEPT_PATH, invitation.token),
      expires_in: durationWords(delivery.ttlSeconds),
      inviter: await inviterOf(trx, actor, invitation.tenantName),
      roles: invitation.roles.join(', '),
      tenant_name: invitation.tenantName,
      name: invitation.inviteeName ?? '',
    },
  });
}
