import { defineErrorCodes } from '../platform/errors.ts';

/** Failures of single sign-on (issue 20); documented in docs/errors.md and docs/sso.md. */
export const SsoErrors = defineErrorCodes({
  /** A connection's settings break a rule (bad issuer, certificate, mapping, domain...). */
  invalid_sso_connection: { status: 400, title: 'Invalid SSO connection' },
  sso_connection_not_found: { status: 404, title: 'SSO connection not found' },
  /** Another connection (of this or another tenant) claims the email domain already. */
  sso_domain_taken: { status: 409, title: 'Email domain claimed already' },
  /** The tenant holds `sso.max_connections_per_tenant` connections already. */
  sso_connection_limit_reached: { status: 409, title: 'SSO connection limit reached' },
  /** The OpenID issuer's discovery document could not be read or does not match. */
  sso_discovery_failed: { status: 400, title: 'Identity provider discovery failed' },
  /** The connection is disabled: sign-ins through it are refused. */
  sso_connection_disabled: { status: 403, title: 'SSO connection disabled' },
  /** The browser came back with a sign-in this server did not start, started elsewhere, used or expired. */
  sso_request_invalid: { status: 400, title: 'Unknown or expired SSO sign-in' },
  /** The identity provider's answer failed a check (signature, audience, time, state, nonce...). */
  sso_response_invalid: { status: 401, title: 'Identity provider answer refused' },
  /** The provider vouches for no email address, yet the account would have to be found by it. */
  sso_email_not_verified: {
    status: 403,
    title: 'Email address not verified by the identity provider',
  },
  /** No account may be linked or created: just-in-time creation is off, or the account is another's. */
  sso_account_not_linkable: {
    status: 403,
    title: 'Account cannot be signed in through this connection',
  },
});
