import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import canonicalize from 'canonicalize';
import { CompactSign, calculateJwkThumbprint, decodeProtectedHeader } from 'jose';
import { sql } from 'kysely';
import type { Config } from '../../src/config/schema.ts';
import { chainHash, GENESIS_HASH } from '../../src/events/chain/chain-hash.ts';
import { openChainLog } from '../../src/events/chain/chain-log.ts';
import { openEventStore } from '../../src/events/open-event-store.ts';
import type { EventStoreOptions } from '../../src/events/store.ts';
import { CHECKPOINT_TYPE } from '../../src/ledger/checkpoints/checkpoint-jws.ts';
import type { Database } from '../../src/storage/open-database.ts';
import type { LedgerCheckpointRow } from '../../src/storage/tables.ts';
import { runAdminCli } from './admin-cli.ts';

/**
 * Appends `count` events to `tenant`'s log through the real store, `perBatch` per
 * transaction, spread over a few entities; returns their positions.
 */
export async function appendEvents(
  db: Database,
  tenant: string,
  count: number,
  perBatch = 500,
  options: EventStoreOptions = {},
): Promise<number[]> {
  const store = openEventStore(db, options);
  const positions: number[] = [];
  for (let done = 0; done < count; done += perBatch) {
    const n = Math.min(perBatch, count - done);
    const events = Array.from({ length: n }, (_, i) => ({
      event_type: 'Counted',
      payload: {
        n: done + i,
        tag: randomUUID(),
        note: 'ledger test',
        nested: { list: [1, 2.5, 'x'] },
      },
      metadata: { source: 'ledger-fixture' },
    }));
    const [outcome] = await store.appendUnits([
      {
        tenant_id: tenant,
        entities: [{ entity_id: `counter-${done}`, expected_version: 'any', events }],
      },
    ]);
    if (!outcome?.ok) throw new Error(`append failed: ${JSON.stringify(outcome)}`);
    for (const event of outcome.events) positions.push(event.position);
  }
  return positions;
}

/** Positions of a partition's events, in order, read beneath every service. */
export async function positionsOf(db: Database, partition: string): Promise<number[]> {
  const { rows } = await sql<{ position: number }>`SELECT position FROM events
    WHERE tenant_id = ${partition} ORDER BY position`.execute(db.kysely);
  return rows.map((row) => Number(row.position));
}

/** The tampering an attacker with the database's credentials (not the signing key) can do. */
export const tamper = {
  async editPayload(db: Database, position: number): Promise<void> {
    await sql`UPDATE events SET payload = ${'{"forged":true}'} WHERE position = ${position}`.execute(
      db.kysely,
    );
  },
  async remove(db: Database, position: number): Promise<void> {
    await sql`DELETE FROM events WHERE position = ${position}`.execute(db.kysely);
  },
  /** Swaps the contents (payloads) of two events, each keeping its place and hash. */
  async swap(db: Database, a: number, b: number): Promise<void> {
    await sql`UPDATE events SET payload = CASE position
      WHEN ${a} THEN (SELECT payload FROM events WHERE position = ${b})
      ELSE (SELECT payload FROM events WHERE position = ${a}) END
      WHERE position IN (${a}, ${b})`.execute(db.kysely);
  },
  /** A new row at a free position, with a made-up hash (or none). */
  async insert(
    db: Database,
    tenant: string,
    position: number,
    hash: string | null = 'ab'.repeat(32),
  ): Promise<void> {
    await sql`INSERT INTO events
      (position, tenant_id, entity_id, version, event_type, time_ms, payload, metadata, client_id, hash)
      VALUES (${position}, ${tenant}, ${'intruder'}, ${0}, ${'Forged'}, ${Date.now()},
        ${'{"forged":true}'}, ${'{}'}, ${null}, ${hash})`.execute(db.kysely);
  },

  /**
   * Edits the event at `position`, then recomputes its hash, every later hash of its
   * partition and the head, with the public chain rule: a rewrite the chain alone
   * cannot see, which an attacker without the signing key can make.
   */
  async rewriteFrom(db: Database, partition: string, position: number): Promise<void> {
    await tamper.editPayload(db, position);
    await tamper.rechainFrom(db, partition, position);
  },

  /** Recomputes the hashes of the partition from `position` on, and its head, as stored. */
  async rechainFrom(db: Database, partition: string, position: number): Promise<void> {
    const log = openChainLog(db);
    let previous = (await log.linkBefore(partition, position))?.hash ?? GENESIS_HASH;
    const rows = await log.readChain(partition, { after: position - 1, limit: 1_000_000 });
    for (const row of rows) {
      previous = chainHash(previous, row);
      await sql`UPDATE events SET hash = ${previous} WHERE position = ${row.position}`.execute(
        db.kysely,
      );
    }
    const last = rows.at(-1)?.position as number;
    await sql`UPDATE ledger_heads SET position = ${last}, hash = ${previous}
      WHERE partition = ${partition}`.execute(db.kysely);
  },

  /** Deletes the partition's last `count` events and moves its head back to the one before. */
  async cutTail(db: Database, partition: string, count: number): Promise<void> {
    const positions = await positionsOf(db, partition);
    const keep = positions.at(-count - 1) as number;
    await sql`DELETE FROM events WHERE tenant_id = ${partition} AND position > ${keep}`.execute(
      db.kysely,
    );
    await sql`UPDATE ledger_heads SET position = ${keep}, chained = chained - ${count},
      hash = (SELECT hash FROM events WHERE position = ${keep})
      WHERE partition = ${partition}`.execute(db.kysely);
  },

  /**
   * Replaces a checkpoint's JWS: `forged` re-signs its payload with another Ed25519
   * key under the real kid; `edited` changes the signed payload's hash and keeps the
   * signature; `unknownKey` signs with another key under that key's own kid (the row's
   * `kid` follows).
   */
  async checkpoint(
    db: Database,
    row: LedgerCheckpointRow,
    how: 'forged' | 'edited' | 'unknownKey',
  ): Promise<void> {
    const [header, payload, signature] = row.jws.split('.') as [string, string, string];
    let jws: string;
    let kid = row.kid;
    if (how === 'edited') {
      const signed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
      const edited = canonicalize({ ...signed, hash: 'ab'.repeat(32) }) as string;
      jws = `${header}.${Buffer.from(edited).toString('base64url')}.${signature}`;
    } else {
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      if (how === 'unknownKey') {
        kid = await calculateJwkThumbprint(publicKey.export({ format: 'jwk' }), 'sha256');
      } else {
        kid = decodeProtectedHeader(row.jws).kid as string;
      }
      jws = await new CompactSign(Buffer.from(payload, 'base64url'))
        .setProtectedHeader({ alg: 'EdDSA', kid, typ: CHECKPOINT_TYPE })
        .sign(privateKey);
    }
    await sql`UPDATE ledger_checkpoints SET jws = ${jws}, kid = ${kid}
      WHERE partition = ${row.partition} AND position = ${row.position}`.execute(db.kysely);
  },
};

/** A partition's stored checkpoints, oldest first, read beneath every service. */
export async function checkpointsOf(
  db: Database,
  partition: string,
): Promise<LedgerCheckpointRow[]> {
  const { rows } = await sql<LedgerCheckpointRow>`SELECT * FROM ledger_checkpoints
    WHERE partition = ${partition} ORDER BY position`.execute(db.kysely);
  return rows.map((row) => ({
    ...row,
    position: Number(row.position),
    chained: Number(row.chained),
    time_ms: Number(row.time_ms),
  }));
}

/**
 * `tessera` run against `storage` with backups in a scratch directory (removed after
 * the test), and `backup()`: a `backup create` whose new file's path it returns.
 */
export function ledgerCli(t: TestContext, storage: Config['storage']) {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-ledger-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tessera = (args: readonly string[]) =>
    runAdminCli(storage, args, { env: { TESSERA_BACKUP_DIR: dir } });
  const backup = async () => {
    const before = new Set(readdirSync(dir));
    const made = await tessera(['backup', 'create']);
    assert.equal(made.code, 0, made.stderr);
    return join(dir, readdirSync(dir).find((name) => !before.has(name)) as string);
  };
  return { dir, tessera, backup };
}
