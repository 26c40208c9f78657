/**
 * `postgres://user@host:port/database` for logs and messages: never the password,
 * and no query string (it may carry `password=` or TLS key paths).
 */
export function describePostgresUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'postgres://(unparsable URL)';
  }
  const user = parsed.username ? `${parsed.username}@` : '';
  return `${parsed.protocol}//${user}${parsed.host}${parsed.pathname}`;
}
