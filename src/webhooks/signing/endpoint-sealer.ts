import { createSecretSealer } from '../../identity/tokens/secret-sealer.ts';

/** The sealer of endpoints' signing secrets: its own HKDF purpose, bound to the endpoint's id. */
export function endpointSecretSealer(masterKey: () => Buffer) {
  return createSecretSealer(masterKey, {
    info: 'tessera webhook signing secret',
    scope: 'webhook_endpoint',
  });
}
