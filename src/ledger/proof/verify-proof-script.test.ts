import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CompactSign, calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { appendChained } from '../../../test/helpers/ledger-chain-fixture.ts';
import { eventIdsOf, type ProofJson } from '../../../test/helpers/ledger-proof-fixture.ts';
import { tenancyTestApp } from '../../../test/helpers/tenancy-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';

const SCRIPT = fileURLToPath(new URL('../../../docs/ledger-verify-proof.mjs', import.meta.url));

interface Run {
  readonly code: number;
  readonly stdout: string;
}

/** Runs the documented script itself, as an auditor would, on Node 24 (this process's). */
function runScript(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SCRIPT, ...args], (error, stdout) => {
      resolve({ code: error ? Number(error.code) : 0, stdout });
    });
  });
}

/** A checkpoint JWS over `payload` with a key of our own: what a forger can make. */
async function forgedCheckpoint(payload: object) {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk, 'sha256');
  const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'tessera-ledger-checkpoint' })
    .sign(privateKey);
  return { jws, kid, key: { ...jwk, kid, alg: 'EdDSA', use: 'sig' } };
}

function signedPayload(proof: ProofJson) {
  const { partition, position, hash, timestamp } = proof.checkpoint;
  return { hash, position, tenant_id: partition, timestamp };
}

/** Each tampering the script must refuse: a copy of the proof with one thing changed. */
const TAMPERINGS: Record<string, (proof: ProofJson) => Promise<void> | void> = {
  'an edited payload in the chained form': (proof) => {
    const link = proof.segment[1];
    assert.ok(link);
    link.event.payload = { forged: true };
  },
  'an edited payload of the proved event': (proof) => {
    proof.event.payload = { forged: true };
    if (proof.segment[0]) proof.segment[0].event.payload = { forged: true };
  },
  'an edited canonical string': (proof) => {
    const link = proof.segment[1];
    assert.ok(link);
    link.canonical = link.canonical.replace('"n":1', '"n":7');
  },
  'an edited event, its chained form and canonical text alike': (proof) => {
    const link = proof.segment[1];
    assert.ok(link);
    link.canonical = link.canonical.replace('"n":1', '"n":7');
    link.event.payload = JSON.parse(link.canonical).payload;
  },
  'a dropped segment event': (proof) => {
    proof.segment.splice(1, 1);
  },
  'a forged JWS under the real kid': async (proof) => {
    const forged = await forgedCheckpoint(signedPayload(proof));
    const [header] = proof.checkpoint.jws.split('.');
    const [, body, signature] = forged.jws.split('.');
    proof.checkpoint.jws = `${header}.${body}.${signature}`;
  },
  'another key, with the proof re-signed by it': async (proof) => {
    const forged = await forgedCheckpoint(signedPayload(proof));
    proof.checkpoint.jws = forged.jws;
    proof.checkpoint.kid = forged.kid;
    proof.key = forged.key as unknown as Record<string, string>;
  },
};

/** What the script names for each (its first failed check). */
const REASONS: Record<string, RegExp> = {
  'an edited payload in the chained form': /segment\[1\].*the event shown is not the one hashed/,
  'an edited payload of the proved event': /segment\[0\].*the event shown is not the one hashed/,
  'an edited canonical string': /segment\[1\].*the event shown is not the one hashed/,
  'an edited event, its chained form and canonical text alike': /the hash does not chain/,
  'a dropped segment event': /the hash does not chain/,
  'a forged JWS under the real kid': /signature does not verify/,
  'another key, with the proof re-signed by it': /no trusted key has kid/,
};

for (const engine of testEngines()) {
  describe(`docs/ledger-verify-proof.mjs (${engine})`, () => {
    it('accepts a proof from the route and refuses every tampered copy', async (t) => {
      const test = await tenancyTestApp(t, engine);
      const auditor = await test.keyFor('acme', 'auditor');
      await appendChained(test.db, 'acme', 4);
      const [first] = await eventIdsOf(test.db, 'acme');
      assert.equal((await test.send('POST', '/ledger/checkpoints', auditor)).status, 200);
      const reply = await test.send('GET', `/ledger/proof?event_id=${first}`, auditor);
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      const keys = await test.send('GET', '/ledger/keys', null);
      const dir = await mkdtemp(join(tmpdir(), 'tessera-proof-'));
      t.after(() => rm(dir, { recursive: true, force: true }));
      const keysFile = join(dir, 'keys.json');
      await writeFile(keysFile, JSON.stringify(keys.body));
      const write = async (name: string, proof: unknown) => {
        const file = join(dir, `${name.replaceAll(' ', '-')}.json`);
        await writeFile(file, JSON.stringify(proof));
        return file;
      };
      const genuine = await write('genuine', reply.body);
      for (const args of [[genuine], [genuine, '--keys', keysFile]]) {
        const held = await runScript(args);
        assert.equal(held.code, 0, held.stdout);
        assert.match(held.stdout, /^PROOF HOLDS: event /);
      }
      for (const [name, tamper] of Object.entries(TAMPERINGS)) {
        const proof = structuredClone(reply.body) as unknown as ProofJson;
        await tamper(proof);
        const file = await write(name, proof);
        // Trusting the server's published keys: a proof signed by another key fails too.
        const failed = await runScript([file, '--keys', keysFile]);
        assert.equal(failed.code, 1, `${name}: ${failed.stdout}`);
        assert.match(failed.stdout, /^PROOF FAILS: /, name);
        assert.match(failed.stdout, REASONS[name] ?? /^$/, name);
      }
    });
  });
}
