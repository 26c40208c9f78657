import { hkdfSync } from 'node:crypto';
import type Provider from 'oidc-provider';
import type { AuditLog } from '../../audit/audit-log.ts';
import type { Database } from '../../storage/open-database.ts';
import type { AccountAdmissionDeps } from '../login/sign-in-refusal.ts';
import type { SessionStore } from '../sessions/session-store.ts';
import type { SignInOf } from '../tenancy-port.ts';
import type { AccessTokens } from '../tokens/access-token.ts';
import type { SigningKeys } from '../tokens/signing-keys.ts';
import type { UserService } from '../users/user-service.ts';
import { apiResource, type ProviderPages } from './oidc-provider.ts';
import { createOidcProviderHolder } from './oidc-provider-holder.ts';
import { createOidcSignIn } from './oidc-sign-in.ts';
import type { FindProviderClient } from './provider-client.ts';

export interface OidcServicesDeps {
  readonly db: Database;
  readonly issuer: string;
  readonly audience: string;
  readonly masterKey: () => Buffer;
  readonly secureCookies: boolean;
  readonly keys: Pick<SigningKeys, 'providerJwks'>;
  readonly tokens: Pick<AccessTokens, 'verify'>;
  readonly sessions: SessionStore;
  readonly users: Pick<UserService, 'findById'>;
  readonly admission: AccountAdmissionDeps;
  readonly signInOf: SignInOf;
  readonly findClient: FindProviderClient;
  readonly tenantsOf: (userId: string) => Promise<readonly { id: string; name: string }[]>;
  readonly audit: AuditLog;
  readonly pages: ProviderPages;
  readonly ttl: { readonly idTokenSeconds: number; readonly sessionSeconds: number };
}

/** How long a person has to get through the hosted pages of one authorization request. */
const INTERACTION_SECONDS = 900;

/** The OpenID Provider and the hosted sign-in's steps, built once per process. */
export function createOidcServices(deps: OidcServicesDeps) {
  const { sessions } = deps;
  const provider: () => Promise<Provider> = createOidcProviderHolder(
    {
      issuer: deps.issuer,
      audience: deps.audience,
      db: deps.db,
      findClient: deps.findClient,
      sessionOfGrant: (grantId) => sessions.findByGrant(grantId),
      grantRevoked: (grantId) => sessions.revokeByGrant(grantId, 'oauth_grant_revoked'),
      findUser: async (userId) => {
        const user = await deps.users.findById(userId);
        return user?.status === 'active' ? user : undefined;
      },
      // Every node derives the same keys, so any node reads the cookies another set.
      cookieKeys: () => [cookieKey(deps.masterKey())],
      secureCookies: deps.secureCookies,
      ttl: { ...deps.ttl, interactionSeconds: INTERACTION_SECONDS },
      pages: deps.pages,
    },
    deps.keys,
  );
  const resource = apiResource(deps.issuer);
  return {
    provider,
    resource,
    signIn: createOidcSignIn({
      provider,
      resource,
      findClient: deps.findClient,
      verifyAccessToken: (token) => deps.tokens.verify(token),
      sessions,
      users: deps.users,
      admission: deps.admission,
      signInOf: deps.signInOf,
      tenantsOf: deps.tenantsOf,
      audit: deps.audit,
    }),
  };
}

export type OidcServices = ReturnType<typeof createOidcServices>;

function cookieKey(masterKey: Buffer): string {
  return Buffer.from(
    hkdfSync('sha256', masterKey, Buffer.alloc(0), 'tessera oidc cookie signing', 32),
  ).toString('base64url');
}
