import * as client from 'openid-client';
import { FederationRefused } from '../federated-identity.ts';

/** Where in the exchange with the IdP a call failed. */
export type OidcStep = 'discovery' | 'callback' | 'userinfo';

/** An error's `cause` as openid-client and oauth4webapi nest them (plain objects). */
function causeOf(error: unknown): Record<string, unknown> | undefined {
  const cause = (error as { cause?: unknown } | null)?.cause;
  return typeof cause === 'object' && cause !== null
    ? (cause as Record<string, unknown>)
    : undefined;
}

const TRANSPORT_CODES: ReadonlySet<string | undefined> = new Set([
  'OAUTH_TIMEOUT',
  'OAUTH_ABORT',
  'OAUTH_RESPONSE_IS_NOT_CONFORM',
  'OAUTH_RESPONSE_IS_NOT_JSON',
  'OAUTH_HTTP_REQUEST_FORBIDDEN',
]);

/** The IdP's own words are kept for the trail, never for the browser; bounded all the same. */
const clip = (text: string): string => (text.length > 300 ? `${text.slice(0, 300)}…` : text);

function describe(error: unknown): string {
  if (!(error instanceof Error)) return clip(String(error));
  const inner = causeOf(error);
  const innerMessage = inner && typeof inner.message === 'string' ? `: ${inner.message}` : '';
  return clip(`${error.message}${innerMessage}`);
}

/**
 * The one mapping of openid-client's errors (its `ClientError` codes and the
 * oauth4webapi classes it passes through) to the reasons the trail records. Anything
 * not recognised is `invalid_response`: refused, never let through.
 */
export function refusalOf(
  error: unknown,
  step: OidcStep,
  expectedState?: string,
): FederationRefused {
  if (error instanceof FederationRefused) return error;
  const detail = describe(error);
  const options = { cause: error };
  if (step === 'discovery') return new FederationRefused('discovery_failed', detail, options);
  if (step === 'userinfo')
    return new FederationRefused('invalid_response', `userinfo: ${detail}`, options);

  if (error instanceof client.AuthorizationResponseError) {
    const description = error.error_description ? `: ${error.error_description}` : '';
    return new FederationRefused('idp_error', clip(`${error.error}${description}`), options);
  }
  // The token endpoint said no (invalid_grant: a replayed code, a wrong PKCE verifier;
  // invalid_client: a wrong secret), or could not be reached in time.
  if (error instanceof client.ResponseBodyError) {
    const description = error.error_description ? `: ${error.error_description}` : '';
    return new FederationRefused(
      'token_exchange_failed',
      clip(`${error.error}${description}`),
      options,
    );
  }
  if (error instanceof client.WWWAuthenticateChallengeError) {
    const said = error.cause.map((challenge) => challenge.parameters.error ?? challenge.scheme);
    return new FederationRefused(
      'token_exchange_failed',
      clip(`${error.status} ${said.join(', ')}`),
      options,
    );
  }
  if (error instanceof TypeError && error.message === 'fetch failed') {
    return new FederationRefused('token_exchange_failed', detail, options);
  }
  if (!(error instanceof client.ClientError)) {
    return new FederationRefused('invalid_response', detail, options);
  }
  if (TRANSPORT_CODES.has(error.code)) {
    return new FederationRefused('token_exchange_failed', detail, options);
  }
  const inner = causeOf(error);
  const innerCause = causeOf(inner);
  switch (error.code) {
    case 'OAUTH_JWT_CLAIM_COMPARISON_FAILED':
      return new FederationRefused(
        innerCause?.claim === 'nonce' ? 'nonce_mismatch' : 'id_token_invalid',
        detail,
        options,
      );
    case 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED':
    case 'OAUTH_KEY_SELECTION_FAILED':
      return new FederationRefused('id_token_invalid', detail, options);
    case 'OAUTH_INVALID_RESPONSE': {
      // The callback's state is checked before anything else, against the state given.
      if (
        expectedState !== undefined &&
        innerCause?.expected === expectedState &&
        innerCause.parameters instanceof URLSearchParams
      ) {
        return new FederationRefused('state_mismatch', detail, options);
      }
      const message = typeof inner?.message === 'string' ? inner.message : '';
      if (/JWT|ID Token|id_token/.test(message) || innerCause?.claims !== undefined) {
        return new FederationRefused('id_token_invalid', detail, options);
      }
      return new FederationRefused('invalid_response', detail, options);
    }
    default:
      return new FederationRefused('invalid_response', detail, options);
  }
}
