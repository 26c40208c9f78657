import assert from 'node:assert/strict';
import { randomBytes, type webcrypto } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import canonicalize from 'canonicalize';
import { CompactSign, compactVerify, importJWK } from 'jose';
import { sql } from 'kysely';
import { appendChained } from '../../../test/helpers/ledger-chain-fixture.ts';
import { openTestDatabase, testEngines } from '../../../test/helpers/test-database.ts';
import { createAuditLog } from '../../audit/audit-log.ts';
import { createSigningKeys, RETIRED_KEY_MARGIN_MS } from '../../identity/tokens/signing-keys.ts';
import { MIGRATIONS } from '../../migrations/index.ts';
import type { Engine } from '../../storage/database.ts';
import { migrateToLatest } from '../../storage/migrate.ts';
import type { LedgerCheckpointRow } from '../../storage/tables.ts';
import { CHECKPOINT_TYPE } from './checkpoint-jws.ts';
import { createCheckpointService } from './checkpoint-service.ts';
import { signHeads } from './checkpoint-signer.ts';
import { checkpointKeyring, verifyCheckpoint } from './verify-checkpoint.ts';

const TTL_SECONDS = 900;
const T0 = Date.UTC(2026, 0, 1);

/** A database with one chained partition (`acme`, 3 events) and its checkpoint. */
async function setup(t: TestContext, engine: Engine) {
  const { db, cleanup } = await openTestDatabase(engine);
  t.after(cleanup);
  await migrateToLatest(db, MIGRATIONS);
  let at = T0;
  const keys = createSigningKeys(db, randomBytes(32), {
    accessTtlSeconds: TTL_SECONDS,
    now: () => at,
  });
  await keys.ensureKey();
  const head = await appendChained(db, 'acme', 3);
  const [signed] = await signHeads(db.kysely, [head], await keys.signingKey(), at);
  assert.ok(signed?.created);
  const service = createCheckpointService({ db, keys, audit: createAuditLog(db) });
  const stored = async () => {
    const rows = await sql<LedgerCheckpointRow>`SELECT * FROM ledger_checkpoints`.execute(
      db.kysely,
    );
    assert.equal(rows.rows.length, 1);
    return rows.rows[0] as LedgerCheckpointRow;
  };
  const edit = (statement: ReturnType<typeof sql>) => statement.execute(db.kysely);
  return {
    db,
    keys,
    head,
    service,
    stored,
    edit,
    advance: (ms: number) => {
      at += ms;
    },
    keyring: checkpointKeyring((kid) => keys.findAnyPublicKey(kid)),
  };
}

for (const engine of testEngines()) {
  describe(`verifyCheckpoint (${engine})`, () => {
    it('holds for a checkpoint as signed, and an auditor verifies it with the public JWK alone', async (t) => {
      const { keys, head, service, stored, keyring } = await setup(t, engine);
      const row = await stored();
      assert.deepEqual(await service.verify(row), { ok: true });
      assert.deepEqual(await verifyCheckpoint(row, keyring, head.hash), { ok: true });
      // As an auditor would: the published JWK, jose, and nothing of Tessera's.
      const [jwk] = await keys.allPublicKeys();
      assert.ok(jwk);
      assert.equal('d' in jwk, false);
      const { payload, protectedHeader } = await compactVerify(
        row.jws,
        await importJWK({ ...jwk }, 'EdDSA'),
        { algorithms: ['EdDSA'] },
      );
      assert.deepEqual(protectedHeader, { alg: 'EdDSA', kid: jwk.kid, typ: CHECKPOINT_TYPE });
      const text = new TextDecoder().decode(payload);
      const expected = {
        tenant_id: 'acme',
        position: head.position,
        hash: head.hash,
        timestamp: new Date(T0).toISOString(),
      };
      assert.deepEqual(JSON.parse(text), expected);
      // The signed bytes are the RFC 8785 form: one spelling only.
      assert.equal(text, canonicalize(expected));
    });

    it('refuses a signature forged with another Ed25519 key under the real kid', async (t) => {
      const { stored, edit, service } = await setup(t, engine);
      const row = await stored();
      const forger = (await crypto.subtle.generateKey('Ed25519', false, ['sign', 'verify'])) as {
        privateKey: webcrypto.CryptoKey;
      };
      const [, payload] = row.jws.split('.');
      const forged = await new CompactSign(Buffer.from(payload as string, 'base64url'))
        .setProtectedHeader({ alg: 'EdDSA', kid: row.kid, typ: CHECKPOINT_TYPE })
        .sign(forger.privateKey);
      await edit(sql`UPDATE ledger_checkpoints SET jws = ${forged}`);
      const verdict = await service.verify(await stored());
      assert.equal(verdict.ok, false);
      assert.equal(!verdict.ok && verdict.reason, 'checkpoint_signature');
    });

    it('refuses a row edited by SQL: its hash, its position, or the JWS payload', async (t) => {
      const { stored, edit, service, head } = await setup(t, engine);
      const reasonOf = async () => {
        const verdict = await service.verify(await stored());
        return verdict.ok ? 'ok' : verdict.reason;
      };
      const original = await stored();
      await edit(sql`UPDATE ledger_checkpoints SET hash = ${'e'.repeat(64)}`);
      assert.equal(await reasonOf(), 'checkpoint_mismatch');
      await edit(sql`UPDATE ledger_checkpoints SET hash = ${head.hash}, chained = 2`);
      // `chained` is not signed: only what the JWS covers can be told apart.
      assert.equal(await reasonOf(), 'ok');
      await edit(sql`UPDATE ledger_checkpoints SET position = ${head.position - 1}`);
      assert.equal(await reasonOf(), 'checkpoint_mismatch');
      await edit(sql`UPDATE ledger_checkpoints SET position = ${head.position}`);
      const [header, , signature] = original.jws.split('.');
      const payload = Buffer.from(
        JSON.stringify({
          hash: head.hash,
          position: head.position + 1,
          tenant_id: 'acme',
          timestamp: new Date(original.time_ms).toISOString(),
        }),
      ).toString('base64url');
      await edit(sql`UPDATE ledger_checkpoints SET jws = ${`${header}.${payload}.${signature}`}`);
      assert.equal(await reasonOf(), 'checkpoint_signature');
      await edit(sql`UPDATE ledger_checkpoints SET jws = ${'not a jws'}`);
      assert.equal(await reasonOf(), 'checkpoint_signature');
    });

    it('refuses a checkpoint whose event hash was changed under it', async (t) => {
      const { stored, edit, service, head } = await setup(t, engine);
      await edit(sql`UPDATE events SET hash = ${'a'.repeat(64)} WHERE position = ${head.position}`);
      const verdict = await service.verify(await stored());
      assert.equal(!verdict.ok && verdict.reason, 'checkpoint_mismatch');
      await edit(sql`UPDATE events SET hash = NULL WHERE position = ${head.position}`);
      const unchained = await service.verify(await stored());
      assert.equal(!unchained.ok && unchained.reason, 'checkpoint_mismatch');
      // The event gone (deleted by SQL): the signature and columns are all there is to check.
      await edit(sql`DELETE FROM events WHERE position = ${head.position}`);
      assert.deepEqual(await service.verify(await stored()), { ok: true });
    });

    it('answers unknown_key for a kid no keyring holds', async (t) => {
      const { stored, edit, service } = await setup(t, engine);
      const row = await stored();
      const verdict = await verifyCheckpoint(
        row,
        checkpointKeyring(() => undefined),
      );
      assert.equal(!verdict.ok && verdict.reason, 'unknown_key');
      // A made-up kid in the row and the header alike: no such key on the server.
      const [, payload, signature] = row.jws.split('.');
      const header = Buffer.from(
        JSON.stringify({ alg: 'EdDSA', kid: 'made-up', typ: CHECKPOINT_TYPE }),
      ).toString('base64url');
      await edit(
        sql`UPDATE ledger_checkpoints SET kid = 'made-up', jws = ${`${header}.${payload}.${signature}`}`,
      );
      const made = await service.verify(await stored());
      assert.equal(!made.ok && made.reason, 'unknown_key');
      // The row naming another key than its JWS does.
      await edit(sql`UPDATE ledger_checkpoints SET kid = ${row.kid}`);
      const other = await service.verify(await stored());
      assert.equal(!other.ok && other.reason, 'checkpoint_mismatch');
    });

    it('still verifies checkpoints of a key retired by rotate(), long after tokens forgot it', async (t) => {
      const { keys, stored, advance } = await setup(t, engine);
      const row = await stored();
      await keys.rotate();
      advance(TTL_SECONDS * 1000 + RETIRED_KEY_MARGIN_MS + 60_000);
      assert.equal(
        (await keys.publicKeys()).some((jwk) => jwk.kid === row.kid),
        false,
        'no longer published for tokens',
      );
      assert.ok((await keys.allPublicKeys()).some((jwk) => jwk.kid === row.kid));
      // A fresh keyring, as a verifier started after the rotation would have.
      const keyring = checkpointKeyring((kid) => keys.findAnyPublicKey(kid));
      assert.deepEqual(await verifyCheckpoint(row, keyring), { ok: true });
    });
  });
}
