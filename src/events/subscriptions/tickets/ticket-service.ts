import type { TicketGrant } from '../../../access/ticket-grant.ts';
import { TesseraError } from '../../../platform/errors.ts';
import { digestSecret, newSecret } from '../../../platform/secrets.ts';
import { EventErrors } from '../../errors.ts';
import type { TicketStore } from './ticket-store.ts';

/** Recognisable to secret scanners and humans, like API keys' `tsk_`. */
export const TICKET_PREFIX = 'tst_';

export interface IssuedTicket {
  readonly ticket: string;
  /** Seconds until it expires. */
  readonly expires_in: number;
}

export interface TicketService {
  issue(grant: TicketGrant): Promise<IssuedTicket>;
  /** What the ticket grants, spending it; throws 401 subscription_ticket_invalid when unknown, used or expired. */
  redeem(ticket: string): Promise<TicketGrant>;
}

export interface TicketServiceDeps {
  readonly store: TicketStore;
  readonly ttlSeconds: number;
  /** Live tickets one credential may hold: each is a row, so a client must not mint without bound. */
  readonly maxPerCredential: number;
  readonly now?: () => number;
}

/**
 * Subscription tickets: 256 random bits (identity's `newSecret`), of which only the
 * SHA-256 digest is stored. A browser's EventSource and WebSocket cannot send an
 * Authorization header, so a script exchanges its credential for a ticket and puts
 * it in the URL; since a URL may end up in a proxy's or a browser's history, the
 * ticket works once and for seconds only.
 */
export function createTicketService(deps: TicketServiceDeps): TicketService {
  const now = deps.now ?? Date.now;
  return {
    async issue(grant) {
      const ticket = newSecret(TICKET_PREFIX);
      const at = now();
      const expires = at + deps.ttlSeconds * 1000;
      if (
        !(await deps.store.insert(digestSecret(ticket), grant, expires, at, deps.maxPerCredential))
      ) {
        throw new TesseraError(
          EventErrors.subscription_ticket_limit_reached,
          `This credential already holds ${deps.maxPerCredential} unused subscription tickets: use them, or retry when they expire.`,
          {
            extensions: { limit: deps.maxPerCredential },
            headers: { 'retry-after': String(deps.ttlSeconds) },
          },
        );
      }
      return { ticket, expires_in: deps.ttlSeconds };
    },
    async redeem(ticket) {
      const grant = ticket.startsWith(TICKET_PREFIX)
        ? await deps.store.consume(digestSecret(ticket), now())
        : undefined;
      if (!grant) {
        throw new TesseraError(
          EventErrors.subscription_ticket_invalid,
          'The subscription ticket is unknown, expired or already used: get a new one from POST /api/v1/subscriptions/tickets.',
        );
      }
      return grant;
    },
  };
}
