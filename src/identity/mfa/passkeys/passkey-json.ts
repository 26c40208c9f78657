import { Type } from 'typebox';
import type { Passkey } from './passkey-store.ts';

/** A passkey as its owner sees it: never its public key. */
export const PasskeyJson = Type.Object({
  id: Type.String({ description: 'The credential ID (base64url).' }),
  name: Type.String(),
  created_at: Type.String({ format: 'date-time' }),
  last_used_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  device_type: Type.String({ description: '`singleDevice` or `multiDevice` (synced).' }),
  backed_up: Type.Boolean(),
  transports: Type.Array(Type.String()),
});

export function passkeyJson(passkey: Passkey) {
  return {
    id: passkey.id,
    name: passkey.name,
    created_at: new Date(passkey.created_ms).toISOString(),
    last_used_at:
      passkey.last_used_ms === null ? null : new Date(passkey.last_used_ms).toISOString(),
    device_type: passkey.device_type,
    backed_up: passkey.backed_up,
    transports: passkey.transports,
  };
}
