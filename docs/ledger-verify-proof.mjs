#!/usr/bin/env node
// Checks a proof from Tessera's GET /api/v1/ledger/proof (docs/ledger.md, "Proving one
// event") with `jose` and Node's own modules only: no Tessera code, no database, no
// RFC 8785 library (the proof carries the exact text that was hashed).
//
//   node ledger-verify-proof.mjs proof.json [--keys keys.json]
//   curl ... | node ledger-verify-proof.mjs - --keys keys.json
//
// --keys: a JWK Set you trust (GET /api/v1/ledger/keys, saved when you trusted it).
// Without it, the key inside the proof is used, which shows the proof is consistent
// but not who signed it. Exit 0: the proof holds; 1: it does not (the reason is
// printed); 2: bad usage.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { calculateJwkThumbprint, compactVerify, decodeProtectedHeader, importJWK } from 'jose';

const CHECKPOINT_TYPE = 'tessera-ledger-checkpoint';
const HASH = /^[0-9a-f]{64}$/;
const FIELDS = [
  'entity_id',
  'event_type',
  'id',
  'metadata',
  'payload',
  'position',
  'tenant_id',
  'timestamp',
  'version',
];

class ProofFailure extends Error {}

function fail(message) {
  throw new ProofFailure(message);
}

/** hex(SHA-256(previous hash's 32 bytes ‖ UTF-8 of the canonical text)). */
function chainHash(previousHex, canonical) {
  return createHash('sha256')
    .update(Buffer.from(previousHex, 'hex'))
    .update(canonical, 'utf8')
    .digest('hex');
}

/** The canonical text must be an event of exactly the nine chained fields, equal to the one shown. */
function checkLink(link, index) {
  const where = `segment[${index}]`;
  if (typeof link?.canonical !== 'string') fail(`${where}: no canonical text`);
  let hashed;
  try {
    hashed = JSON.parse(link.canonical);
  } catch {
    fail(`${where}: the canonical text is not JSON`);
  }
  const names = Object.keys(hashed ?? {}).sort();
  if (!isDeepStrictEqual(names, FIELDS)) fail(`${where}: the hashed text is not a chained event`);
  // What was hashed must be the event shown, or a proof could hash one and show another.
  if (!isDeepStrictEqual(hashed, link.event)) {
    fail(`${where} (position ${hashed.position}): the event shown is not the one hashed`);
  }
  return hashed;
}

/** The key that verifies the checkpoint: the trusted one with its kid, or the proof's own. */
async function checkpointKey(proof, trusted) {
  const { kid, typ, alg } = decodeProtectedHeader(proof.checkpoint.jws);
  if (typ !== CHECKPOINT_TYPE) fail(`the JWS is not a ledger checkpoint (typ ${typ})`);
  if (alg !== 'EdDSA') fail(`the JWS is not EdDSA (alg ${alg})`);
  const jwk = trusted ? trusted.keys?.find((key) => key.kid === kid) : proof.key;
  if (!jwk) fail(`no trusted key has kid ${kid}`);
  if (jwk.kid !== kid) fail(`the proof's key is ${jwk.kid}, the JWS names ${kid}`);
  // The kid is the key's RFC 7638 thumbprint: a key cannot pose under another's kid.
  if ((await calculateJwkThumbprint(jwk, 'sha256')) !== kid)
    fail(`key ${kid} is not its thumbprint`);
  return { kid, key: await importJWK(jwk, 'EdDSA') };
}

async function verifyProof(proof, trusted) {
  const segment = proof?.segment;
  if (!Array.isArray(segment) || segment.length === 0) fail('the proof has no segment');
  if (!HASH.test(proof.previous_hash ?? '')) fail('previous_hash is not a hash');
  if (!isDeepStrictEqual(segment[0].event, proof.event) || segment[0].hash !== proof.hash) {
    fail('the segment does not start with the event proved');
  }
  const { kid, key } = await checkpointKey(proof, trusted);
  let payload;
  try {
    const verified = await compactVerify(proof.checkpoint.jws, key, { algorithms: ['EdDSA'] });
    payload = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(verified.payload));
  } catch {
    fail(`the checkpoint's signature does not verify with key ${kid}`);
  }
  const partition = payload.tenant_id;
  const shown = proof.checkpoint;
  if (
    shown.partition !== partition ||
    shown.position !== payload.position ||
    shown.hash !== payload.hash
  ) {
    fail('the checkpoint shown is not the one signed');
  }
  let previous = proof.previous_hash;
  let lastPosition = 0;
  for (const [index, link] of segment.entries()) {
    const event = checkLink(link, index);
    if (event.tenant_id !== partition)
      fail(`position ${event.position}: not in chain ${partition}`);
    if (!(event.position > lastPosition)) fail(`position ${event.position}: out of order`);
    if (chainHash(previous, link.canonical) !== link.hash) {
      fail(`position ${event.position}: the hash does not chain`);
    }
    previous = link.hash;
    lastPosition = event.position;
  }
  if (lastPosition !== payload.position || previous !== payload.hash) {
    fail(
      `the segment ends at position ${lastPosition}, the checkpoint signs position ${payload.position}`,
    );
  }
  return { event: proof.event, partition, checkpoint: payload, kid, links: segment.length };
}

function readJson(path, what) {
  try {
    return JSON.parse(readFileSync(path === '-' ? 0 : path, 'utf8'));
  } catch (error) {
    console.error(`cannot read the ${what} ${path}: ${error.message}`);
    process.exit(2);
  }
}

const args = process.argv.slice(2);
const keysAt = args.indexOf('--keys');
const keysPath = keysAt >= 0 ? args.splice(keysAt, 2)[1] : undefined;
if (args.length !== 1 || (keysAt >= 0 && !keysPath)) {
  console.error('usage: ledger-verify-proof.mjs <proof.json | -> [--keys keys.json]');
  process.exit(2);
}
const proof = readJson(args[0], 'proof');
const trusted = keysPath === undefined ? undefined : readJson(keysPath, 'keys');
try {
  const held = await verifyProof(proof, trusted);
  console.log(
    `PROOF HOLDS: event ${held.event.id} at position ${held.event.position} of ${held.partition}, ` +
      `${held.links} events to the checkpoint at position ${held.checkpoint.position} ` +
      `signed ${held.checkpoint.timestamp} by key ${held.kid}`,
  );
  if (!trusted)
    console.log('(checked with the key the proof carries: pass --keys to trust a JWKS)');
} catch (error) {
  if (!(error instanceof ProofFailure)) console.error(error);
  console.log(`PROOF FAILS: ${error instanceof ProofFailure ? error.message : 'malformed proof'}`);
  process.exit(1);
}
