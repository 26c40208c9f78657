import type { AuditContext } from '../../access/audit-context.ts';
import type { TokenSet } from '../tokens/issue-token-set.ts';

/** An identity provider the hosted sign-in offers. */
export interface OfferedConnection {
  readonly id: string;
  readonly name: string;
  readonly tenant_id: string;
}

/**
 * What the hosted sign-in asks of single sign-on (issue 20), answered by the sso
 * domain above identity and handed over by the composition root: which identity
 * providers to offer, where an address signs in, and the IdP round trip of one
 * authorization request.
 */
export interface HostedFederation {
  /** The tenant's enabled connections, offered as buttons to a client of that tenant. */
  offered(tenantId: string): Promise<readonly OfferedConnection[]>;
  /** Whether any enabled connection claims a domain (else finding one by address is moot). */
  discoverable(): Promise<boolean>;
  /** The enabled connection claiming the address's domain; undefined when none. */
  discover(email: string): Promise<OfferedConnection | undefined>;
  /**
   * Starts a sign-in at the IdP for this interaction and answers the URL to send the
   * browser to. `tenantId`: the only tenant whose connections may be used (a client
   * pinned to its tenant); undefined: any. Throws a TesseraError (4xx) when refused.
   */
  begin(uid: string, connectionId: string, tenantId: string | undefined): Promise<string>;
  /** The IdP answered for this interaction: the new session's tokens (signed in through SSO). */
  finish(requestId: string, uid: string, context: AuditContext): Promise<TokenSet>;
}
