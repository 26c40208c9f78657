import type Provider from 'oidc-provider';
import type { SigningKeys } from '../tokens/signing-keys.ts';
import { createOidcProvider, type OidcProviderDeps } from './oidc-provider.ts';

/**
 * oidc-provider takes its signing keys once, when it is built; Tessera's rotate (`tessera
 * keys rotate`, on any node). The holder builds the provider for the published key set
 * and builds it again when that set changes (signing-keys.ts reloads it every few
 * seconds). Everything else the provider keeps is in the database, so an authorization
 * in progress carries on across a rebuild.
 */
export function createOidcProviderHolder(
  deps: OidcProviderDeps,
  keys: Pick<SigningKeys, 'providerJwks'>,
): () => Promise<Provider> {
  let built: { version: string; provider: Provider } | undefined;
  return async () => {
    const { version, keys: jwks } = await keys.providerJwks();
    if (built?.version !== version) {
      built = { version, provider: createOidcProvider(deps, jwks) };
    }
    return built.provider;
  };
}
