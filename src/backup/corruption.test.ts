import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildTestApp } from '../../test/helpers/app.ts';
import { forgeManifest, TEST_SIGNING_KEY } from '../../test/helpers/backup-fixture.ts';
import { testEngines } from '../../test/helpers/test-database.ts';
import type { Engine } from '../storage/database.ts';
import { openBackup } from './read-backup.ts';
import { BLOCK, paddingAfter, type TarEntry } from './tar.ts';
import { verifyBackup as verifyWith } from './verify-backup.ts';
import { createBackup } from './write-backup.ts';

const KEY = randomBytes(32);

/** Verifies with the encryption key given and the key every sample is signed with. */
const verifyBackup = (path: string, key: Buffer | undefined) =>
  verifyWith(path, { key, signingKey: TEST_SIGNING_KEY });

/** A backup of a database with some events, plain or encrypted, and its tar entries. */
async function sampleBackup(dir: string, key?: Buffer, engine: Engine = 'sqlite') {
  const source = await buildTestApp({}, engine);
  try {
    for (let i = 0; i < 30; i++) {
      const reply = await source.app.inject({
        method: 'POST',
        url: '/api/v1/events',
        payload: {
          entity_id: `e-${i % 4}`,
          event_type: 'noted',
          payload: { i, text: 'y'.repeat(300) },
        },
      });
      assert.equal(reply.statusCode, 201);
    }
    const file = await createBackup(source.db, { dir, key, signingKey: TEST_SIGNING_KEY });
    const opened = await openBackup(file.path);
    await opened.close();
    return { path: file.path, entries: [...opened.entries.values()] };
  } finally {
    await source.close();
  }
}

/** Verifies a copy of `path` with the byte at `offset` changed; returns its problems. */
async function problemsWithFlip(dir: string, path: string, offset: number, key?: Buffer) {
  const copy = join(dir, `flipped-${offset}.tar`);
  copyFileSync(path, copy);
  const bytes = readFileSync(copy);
  bytes[offset] = (bytes[offset] as number) ^ 0x20;
  writeFileSync(copy, bytes);
  return (await verifyBackup(copy, key)).problems;
}

// The format is the same whatever the source engine: PostgreSQL's file is checked plain only.
const cases = testEngines().flatMap((engine) =>
  (engine === 'sqlite' ? [false, true] : [false]).map((encrypted) => ({ engine, encrypted })),
);

/** Entries checked at several places; the others at one, to keep the sweep quick. */
const thorough = (entry: TarEntry) =>
  entry.name.startsWith('tables/events.') || entry.name.startsWith('manifest');

/** In an entry's data: its first byte, and for some also its middle and last. */
function dataOffsets(entry: TarEntry): number[] {
  const middle = entry.offset + Math.floor(entry.size / 2);
  return thorough(entry) ? [entry.offset, middle, entry.offset + entry.size - 1] : [middle];
}

/** In an entry's header: its name, and for some also its size and owner fields. */
function headerOffsets(entry: TarEntry): number[] {
  const at = entry.headerOffset;
  return thorough(entry) ? [at, at + 124, at + 300] : [at];
}

for (const { engine, encrypted } of cases) {
  describe(`verify finds a changed byte anywhere (${engine}, ${encrypted ? 'encrypted' : 'plain'})`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-corrupt-'));
    const key = encrypted ? KEY : undefined;
    let sample: Awaited<ReturnType<typeof sampleBackup>>;
    before(async () => {
      sample = await sampleBackup(dir, key, engine);
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('passes the untouched file', async () => {
      const report = await verifyBackup(sample.path, key);
      assert.deepEqual(report.problems, []);
      assert.ok(report.rows > 30);
    });

    it('names the part whose data changed', async () => {
      for (const entry of sample.entries) {
        for (const offset of dataOffsets(entry)) {
          const problems = await problemsWithFlip(dir, sample.path, offset, key);
          assert.ok(problems.length > 0, `a flip at ${offset} in ${entry.name} is found`);
          assert.equal(problems[0]?.part, entry.name, JSON.stringify(problems));
        }
      }
    });

    it('finds changes in headers, padding and the end of the archive', async () => {
      for (const entry of sample.entries) {
        for (const offset of headerOffsets(entry)) {
          const problems = await problemsWithFlip(dir, sample.path, offset, key);
          assert.equal(
            problems[0]?.part,
            'archive',
            `header of ${entry.name}: ${JSON.stringify(problems)}`,
          );
        }
        const padding = paddingAfter(entry.size);
        if (padding > 0) {
          const problems = await problemsWithFlip(dir, sample.path, entry.offset + entry.size, key);
          assert.equal(problems[0]?.part, 'archive');
          assert.match(problems[0]?.message ?? '', new RegExp(`padding after ${entry.name}`));
        }
      }
      const size = readFileSync(sample.path).length;
      for (const offset of [size - 1, size - BLOCK - 1, size - 2 * BLOCK]) {
        const problems = await problemsWithFlip(dir, sample.path, offset, key);
        assert.equal(problems[0]?.part, 'archive', JSON.stringify(problems));
      }
    });

    it('finds rows a forged manifest miscounts', async () => {
      const copy = join(dir, 'forged-count.tar');
      forgeManifest(
        sample.path,
        copy,
        sample.entries,
        (manifest) => {
          const tables = manifest.tables as { table: string; rows: number }[];
          const events = tables.find((t) => t.table === 'events') as { rows: number };
          events.rows -= 1;
        },
        TEST_SIGNING_KEY,
      );
      const problems = (await verifyBackup(copy, key)).problems;
      assert.deepEqual(
        problems.map((p) => p.part),
        [encrypted ? 'tables/events.ndjson.gz.enc' : 'tables/events.ndjson.gz'],
      );
      assert.match(problems[0]?.message ?? '', /rows, the manifest says/);
    });
  });
}

describe('encryption', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-corrupt-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('authenticates the data even when a forger also fixes the checksums', async () => {
    const sample = await sampleBackup(dir, KEY);
    const part = sample.entries.find((e) => e.name === 'tables/events.ndjson.gz.enc') as TarEntry;
    const copy = join(dir, 'forged-data.tar');
    const bytes = readFileSync(sample.path);
    const at = part.offset + 40;
    bytes[at] = (bytes[at] as number) ^ 0x01;
    writeFileSync(copy, bytes);
    const sha256 = createHash('sha256')
      .update(bytes.subarray(part.offset, part.offset + part.size))
      .digest('hex');
    forgeManifest(
      copy,
      copy,
      sample.entries,
      (manifest) => {
        const tables = manifest.tables as { part: string; sha256: string }[];
        (tables.find((t) => t.part === part.name) as { sha256: string }).sha256 = sha256;
      },
      TEST_SIGNING_KEY,
    );
    const problems = (await verifyBackup(copy, KEY)).problems;
    assert.equal(problems[0]?.part, part.name);
    assert.match(problems[0]?.message ?? '', /decryption failed|cannot be read/);
  });

  it('says which key is needed, or that the key is another one', async () => {
    const sample = await sampleBackup(dir, KEY);
    const [missing] = (await verifyBackup(sample.path, undefined)).problems;
    assert.equal(missing?.part, 'encryption');
    assert.match(missing?.message ?? '', /is encrypted: configure backup\.encryption_key/);
    const [wrong] = (await verifyBackup(sample.path, randomBytes(32))).problems;
    assert.match(wrong?.message ?? '', /encrypted with another key/);
  });

  it('keeps rows unreadable without the key', async () => {
    const sample = await sampleBackup(dir, KEY);
    const text = readFileSync(sample.path);
    assert.equal(text.includes(Buffer.from('yyyyyyyy')), false);
    assert.equal(text.includes(Buffer.from('noted')), false);
  });
});
