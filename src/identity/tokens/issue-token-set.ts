/**
 * The token answer shared by login and refresh, moved out of auth-service.ts so both
 * flows (password-login.ts, token-refresh.ts) build it the one same way.
 */

/** What a successful login or refresh answers (RFC 6749 §5.1 names). */
export interface TokenSet {
  readonly access_token: string;
  readonly refresh_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly tenant_id: string;
}

export type IssueAccessToken = (claims: {
  sub: string;
  tid: string;
  roles: readonly string[];
  sid: string;
  email_verified: boolean;
  /** RFC 8176 methods the session's sign-in (and later proofs) used. */
  amr: readonly string[];
  /** When the user signed in (epoch seconds, OpenID Connect Core §2). */
  auth_time: number;
}) => Promise<{
  token: string;
  expires_in: number;
}>;

/**
 * Signs an access token for a session just started or rotated and pairs it with its
 * refresh token. `emailVerified`: the user's `email_verified` now, the token's claim.
 */
export async function issueTokenSet(
  issueAccessToken: IssueAccessToken,
  userId: string,
  tenantId: string,
  roles: readonly string[],
  started: {
    session_id: string;
    refresh_token: string;
    amr: readonly string[];
    auth_time_ms: number;
  },
  emailVerified: boolean,
): Promise<TokenSet> {
  const access = await issueAccessToken({
    sub: userId,
    tid: tenantId,
    roles,
    sid: started.session_id,
    email_verified: emailVerified,
    amr: started.amr,
    auth_time: Math.floor(started.auth_time_ms / 1000),
  });
  return {
    access_token: access.token,
    refresh_token: started.refresh_token,
    token_type: 'Bearer',
    expires_in: access.expires_in,
    tenant_id: tenantId,
  };
}
