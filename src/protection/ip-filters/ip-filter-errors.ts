import { defineErrorCodes } from '../../platform/errors.ts';

/** Failures of IP filtering and its administration; documented in docs/errors.md. */
export const IpFilterErrors = defineErrorCodes({
  ip_blocked: { status: 403, title: 'IP address blocked' },
  invalid_cidr: { status: 400, title: 'Invalid CIDR range' },
  ip_filter_not_found: { status: 404, title: 'IP filter not found' },
  ip_filter_exists: { status: 409, title: 'IP filter exists' },
  ip_filter_self_lockout: { status: 409, title: 'IP filter would lock you out' },
  ip_filter_limit_reached: { status: 409, title: 'Too many IP filters' },
});
