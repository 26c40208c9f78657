import type { ClientType } from './oauth-client-record.ts';

/** Loopback hosts as `URL.hostname` spells them (IPv6 in brackets). */
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Whitespace and control characters: a URL parser would quietly trim or drop them. */
const UNSAFE_CHARACTERS = /[\s\p{Cc}]/u;

function parse(uri: string): URL | undefined {
  try {
    return new URL(uri);
  } catch {
    return undefined;
  }
}

/**
 * Why a redirect URI (or post-logout redirect URI) cannot be registered, or undefined
 * when it can. The provider compares them as exact strings (RFC 6749 §3.1.2.2, OAuth
 * 2.0 Security BCP), so nothing is normalized here: an accepted URI is kept as sent.
 *
 * - absolute, without a fragment (RFC 6749 §3.1.2) and without credentials;
 * - `https:`, or `http:` only on a loopback host, where a native app or a developer's
 *   machine listens (RFC 8252 §7.3, §8.3);
 * - for public clients also a private-use scheme with a dot, a reversed domain name
 *   the app owns such as `com.example.app:/cb` (RFC 8252 §7.1); a confidential client
 *   runs on a server and has no use for one.
 */
export function redirectUriProblem(uri: string, type: ClientType): string | undefined {
  if (UNSAFE_CHARACTERS.test(uri)) return 'must not contain whitespace or control characters';
  if (uri.includes('#')) return 'must not have a fragment';
  const url = parse(uri);
  if (!url) return 'must be an absolute URL';
  if (url.username !== '' || url.password !== '') return 'must not carry credentials';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:') {
    return LOOPBACK_HOSTS.has(url.hostname)
      ? undefined
      : 'may use http only on a loopback host (127.0.0.1, [::1], localhost)';
  }
  const scheme = url.protocol.slice(0, -1);
  if (type === 'public' && scheme.includes('.')) return undefined;
  return type === 'public'
    ? 'must be https, http on a loopback host, or a private-use scheme with a dot (com.example.app:/cb)'
    : 'must be https, or http on a loopback host';
}
