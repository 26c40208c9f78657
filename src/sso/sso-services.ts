import type { RolePolicy } from '../access/role-policy.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Config } from '../config/schema.ts';
import type { CredentialChanges } from '../identity/guard/credential-cache.ts';
import type { StartSession } from '../identity/identity-port.ts';
import type { AccountAdmissionDeps } from '../identity/login/sign-in-refusal.ts';
import type { HostedFederation } from '../identity/oidc/hosted-federation.ts';
import type { LockTenant, SignInOf } from '../identity/tenancy-port.ts';
import type { IssueAccessToken } from '../identity/tokens/issue-token-set.ts';
import { createSecretSealer } from '../identity/tokens/secret-sealer.ts';
import type { Database } from '../storage/open-database.ts';
import { createFederatedMembers, missingTeams } from '../tenancy/users/federated-members.ts';
import { createAssertionReplayStore } from './assertion-replay-store.ts';
import { createConnectionService } from './connections/connection-service.ts';
import { createTestTickets } from './connections/test-ticket.ts';
import { createDeprovisioning } from './deprovisioning/deprovisioning.ts';
import { createOidcFederation } from './oidc/oidc-federation.ts';
import { createSamlFederation } from './saml/saml-federation.ts';
import { createSsoFlow } from './sign-in/sso-flow.ts';
import { createSsoSignIn } from './sign-in/sso-sign-in.ts';
import { createSsoLogins } from './sso-metrics.ts';

export interface SsoNeeds {
  readonly audit: AuditLog;
  readonly roles: RolePolicy;
  readonly lockTenant: LockTenant;
  readonly signInOf: SignInOf;
  readonly changes: CredentialChanges;
  readonly sessions: { readonly start: StartSession };
  readonly issueAccessToken: IssueAccessToken;
  readonly admission: AccountAdmissionDeps;
  readonly masterKey: () => Buffer;
  /** The public base URL (the OpenID issuer). */
  readonly base: string;
  readonly now?: (() => number) | undefined;
}

/** The sso domain's services (issue 20), built once by the composition root. */
export function composeSso(db: Database, config: Config, needs: SsoNeeds) {
  const now = needs.now ?? Date.now;
  const settings = config.sso;
  const oidc = createOidcFederation({
    allowInsecureUrls: settings.allow_insecure_urls,
    clockSkewSeconds: settings.clock_skew_seconds,
  });
  const saml = createSamlFederation({
    baseUrl: needs.base,
    replay: createAssertionReplayStore(db.kysely, now),
    clockSkewMs: settings.clock_skew_seconds * 1000,
    now,
  });
  const sealer = createSecretSealer(needs.masterKey, {
    info: 'tessera sso client secret',
    scope: 'sso_connection',
  });
  const tickets = createTestTickets(needs.masterKey, now);
  const logins = createSsoLogins();
  const members = createFederatedMembers(db.capabilities, now);
  const signIn = createSsoSignIn({
    db,
    audit: needs.audit,
    members,
    roles: needs.roles,
    sessions: needs.sessions,
    issueAccessToken: needs.issueAccessToken,
    admission: needs.admission,
    signInOf: needs.signInOf,
    changes: needs.changes,
    counted: logins.count,
    now,
  });
  const flow = createSsoFlow({
    db,
    audit: needs.audit,
    sealer,
    oidc,
    saml,
    signIn,
    signInOf: needs.signInOf,
    base: needs.base,
    requestTtlMs: settings.request_ttl_seconds * 1000,
    now,
  });
  const connections = createConnectionService({
    db,
    audit: needs.audit,
    roles: needs.roles,
    lockTenant: needs.lockTenant,
    missingTeams: (on, tenantId, ids) => missingTeams(on, db.capabilities, tenantId, ids),
    sealer,
    oidc,
    maxConnectionsPerTenant: settings.max_connections_per_tenant,
    allowInsecureUrls: settings.allow_insecure_urls,
    now,
  });
  /** The hosted sign-in's way into SSO (identity's port). */
  const hosted: HostedFederation = {
    offered: (tenantId) => flow.offered(tenantId),
    discoverable: () => flow.discoverable(),
    discover: (email) => flow.discover(email),
    async begin(uid, connectionId, tenantId) {
      const found = await flow.find(connectionId);
      if (!found || (tenantId !== undefined && found.tenant_id !== tenantId)) {
        return flow.refuseOtherTenant();
      }
      // The interaction's cookie binds the browser; the uid stands in for the binding.
      return (await flow.start(connectionId, { kind: 'interaction', uid }, uid)).url;
    },
    finish: (requestId, uid, context) => flow.completeInteraction(requestId, uid, context),
  };
  const deprovisioning = createDeprovisioning({
    db,
    audit: needs.audit,
    members,
    changes: needs.changes,
    now,
  });
  return { connections, flow, tickets, signIn, logins, hosted, deprovisioning, base: needs.base };
}

export type SsoServices = ReturnType<typeof composeSso>;
