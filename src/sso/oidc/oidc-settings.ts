/** What an admin sets for an OpenID Connect connection (the client secret is kept apart, encrypted). */
export interface OidcSettings {
  /** Exactly as the IdP's discovery document and ID tokens say it; discovery is at `${issuer}/.well-known/openid-configuration`. */
  readonly issuer: string;
  readonly client_id: string;
  /** Always includes `openid`. */
  readonly scopes: readonly string[];
}

export const OIDC_DEFAULT_SCOPES: readonly string[] = Object.freeze(['openid', 'email', 'profile']);

export const OIDC_SETTINGS_LIMITS = {
  issuerLength: 2048,
  clientIdLength: 255,
  scopes: 20,
  scopeLength: 255,
} as const;

/** RFC 6749 §3.3 scope-token: printable ASCII but space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
const CONTROL = /\p{Cc}/u;

/** A setting that cannot be used, named by its JSON pointer in the admin's request. */
export class OidcSettingsInvalid extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(message);
    this.name = 'OidcSettingsInvalid';
    this.path = path;
  }
}

function issuerProblem(value: unknown, allowInsecureUrls: boolean): string | undefined {
  if (typeof value !== 'string') return 'must be a URL';
  if (value.length > OIDC_SETTINGS_LIMITS.issuerLength) {
    return `must be at most ${OIDC_SETTINGS_LIMITS.issuerLength} characters`;
  }
  // The URL parser would drop surrounding blanks, and then the issuer would no longer
  // be the exact string ID tokens are compared with.
  if (/\s/.test(value) || CONTROL.test(value)) return 'must not contain spaces';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be a URL';
  }
  if (url.protocol !== 'https:' && !(allowInsecureUrls && url.protocol === 'http:')) {
    return allowInsecureUrls ? 'must be an http(s) URL' : 'must be an https URL';
  }
  // OpenID Connect Discovery §2: an issuer has no query nor fragment.
  if (url.search !== '' || value.includes('?')) return 'must not have a query';
  if (url.hash !== '' || value.includes('#')) return 'must not have a fragment';
  if (url.username !== '' || url.password !== '') return 'must not hold credentials';
  return undefined;
}

function scopesOf(value: unknown, pointer: string): readonly string[] {
  if (value === undefined) return OIDC_DEFAULT_SCOPES;
  const { scopes: most, scopeLength } = OIDC_SETTINGS_LIMITS;
  if (!Array.isArray(value) || value.length < 1 || value.length > most) {
    throw new OidcSettingsInvalid(`${pointer}/scopes`, `must hold 1-${most} scopes`);
  }
  const seen = new Set<string>();
  for (const [index, scope] of value.entries()) {
    if (typeof scope !== 'string' || scope.length > scopeLength || !SCOPE_TOKEN.test(scope)) {
      throw new OidcSettingsInvalid(
        `${pointer}/scopes/${index}`,
        `must be a scope token (printable ASCII, no space, " or \\; at most ${scopeLength})`,
      );
    }
    if (seen.has(scope)) {
      throw new OidcSettingsInvalid(`${pointer}/scopes/${index}`, 'is listed twice');
    }
    seen.add(scope);
  }
  // Not added silently: without `openid` the IdP would answer OAuth, not OpenID Connect,
  // and the admin should see the scopes that are really sent.
  if (!seen.has('openid'))
    throw new OidcSettingsInvalid(`${pointer}/scopes`, 'must include openid');
  return Object.freeze([...seen]);
}

/**
 * Checks an admin's settings (parsed JSON) and returns them typed; throws
 * `OidcSettingsInvalid` at the first problem. Other members of `input` (the client
 * secret, the claim names) are left to their own checks and not returned.
 * `pointer` is where `input` sits in the request (default `/oidc`).
 */
export function checkOidcSettings(
  input: unknown,
  options: { allowInsecureUrls: boolean; pointer?: string },
): OidcSettings {
  const pointer = options.pointer ?? '/oidc';
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new OidcSettingsInvalid(pointer, 'must be an object');
  }
  const { issuer, client_id, scopes } = input as Record<string, unknown>;
  const problem = issuerProblem(issuer, options.allowInsecureUrls);
  if (problem) throw new OidcSettingsInvalid(`${pointer}/issuer`, problem);
  const { clientIdLength } = OIDC_SETTINGS_LIMITS;
  if (
    typeof client_id !== 'string' ||
    client_id.length < 1 ||
    client_id.length > clientIdLength ||
    CONTROL.test(client_id)
  ) {
    throw new OidcSettingsInvalid(
      `${pointer}/client_id`,
      `must be 1-${clientIdLength} characters, no control characters`,
    );
  }
  return Object.freeze({
    issuer: issuer as string,
    client_id,
    scopes: scopesOf(scopes, pointer),
  });
}
