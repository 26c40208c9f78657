import { defineErrorCodes } from '../../platform/errors.ts';

/** Failures of the OAuth client registry (`/oauth/clients`); documented in docs/errors.md. */
export const OAuthClientErrors = defineErrorCodes({
  /** RFC 7591 §3.2.2's name: a field, or a combination of fields, breaks a registry rule. */
  invalid_client_metadata: { status: 400, title: 'Invalid client metadata' },
  oauth_client_not_found: { status: 404, title: 'OAuth client not found' },
  /** A public client has no secret to rotate. */
  oauth_client_public: { status: 409, title: 'OAuth client is public' },
  /** The tenant holds `oauth.max_clients_per_tenant` clients already. */
  oauth_client_limit_reached: { status: 409, title: 'OAuth client limit reached' },
});
