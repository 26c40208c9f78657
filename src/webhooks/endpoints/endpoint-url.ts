import { isIP } from 'node:net';
import type { FieldError } from '../../platform/errors.ts';
import { isBlockedAddress } from '../delivery/blocked-addresses.ts';

export const MAX_URL_LENGTH = 2048;

/**
 * What is wrong with an endpoint URL, if anything. https only, unless
 * `allowInsecure`; no user name or password (they would sit in the database in the
 * clear and in every log); no fragment. An address literal that delivery would refuse
 * anyway (loopback, private, link-local, metadata) is refused now, where the admin
 * sees why; names are checked where it counts, at each connection.
 */
export function urlProblem(
  text: string,
  options: { allowInsecure: boolean; allowPrivate: boolean },
): FieldError | undefined {
  const problem = (message: string): FieldError => ({ path: '/url', message });
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return problem('must be an absolute URL');
  }
  if (url.protocol !== 'https:' && !(options.allowInsecure && url.protocol === 'http:')) {
    return problem(
      options.allowInsecure
        ? 'must be an http(s) URL'
        : 'must be an https URL (webhooks.allow_insecure_urls is off)',
    );
  }
  if (url.username !== '' || url.password !== '')
    return problem('must not carry a user name or password');
  if (url.hash !== '') return problem('must not have a fragment');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!options.allowPrivate && isIP(host) !== 0 && isBlockedAddress(host)) {
    return problem(
      `${host} is a loopback, private, link-local or otherwise internal address (webhooks.allow_private_networks is off)`,
    );
  }
  return undefined;
}
