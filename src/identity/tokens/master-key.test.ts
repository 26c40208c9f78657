import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDirFor } from '../../../test/helpers/temp-dir.ts';
import { loadMasterKey, MASTER_KEY_ENV, MASTER_KEY_FILE } from './master-key.ts';

const posix = process.platform !== 'win32';

describe('loadMasterKey', () => {
  it('takes TESSERA_MASTER_KEY and leaves the data dir alone', (t) => {
    const dir = tempDirFor(t, 'tessera-master-key-');
    const key = randomBytes(32);
    const loaded = loadMasterKey(
      { data_dir: dir },
      { [MASTER_KEY_ENV]: `${key.toString('base64')}\n` },
    );
    assert.deepEqual(loaded, key);
    assert.equal(existsSync(join(dir, MASTER_KEY_FILE)), false);
  });

  it('refuses a variable that is not base64 of exactly 32 bytes, saying how to make one', (t) => {
    const dir = tempDirFor(t, 'tessera-master-key-');
    const bad = {
      empty: '',
      short: randomBytes(16).toString('base64'),
      long: randomBytes(33).toString('base64'),
      hex: randomBytes(32).toString('hex'),
      base64url: Buffer.alloc(32, 0xfb).toString('base64url'),
      junk: `${randomBytes(32).toString('base64')}x`,
    };
    for (const [name, value] of Object.entries(bad)) {
      assert.throws(
        () => loadMasterKey({ data_dir: dir }, { [MASTER_KEY_ENV]: value }),
        (error: Error) =>
          error.message.includes(MASTER_KEY_ENV) &&
          error.message.includes('openssl rand -base64 32'),
        name,
      );
    }
  });

  it('creates <data_dir>/master.key once (0600 in a 0700 dir) and reads it back', (t) => {
    const dir = join(tempDirFor(t, 'tessera-master-key-'), 'nested', 'data');
    const first = loadMasterKey({ data_dir: dir }, {});
    assert.equal(first.length, 32);
    const path = join(dir, MASTER_KEY_FILE);
    assert.deepEqual(Buffer.from(readFileSync(path, 'utf8').trim(), 'base64'), first);
    if (posix) {
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.equal(statSync(dir).mode & 0o777, 0o700);
    }
    assert.deepEqual(loadMasterKey({ data_dir: dir }, {}), first);
    assert.notDeepEqual(
      loadMasterKey({ data_dir: tempDirFor(t, 'tessera-master-key-') }, {}),
      first,
    );
  });

  it('refuses a key file that group or others can read', { skip: !posix }, (t) => {
    const dir = tempDirFor(t, 'tessera-master-key-');
    loadMasterKey({ data_dir: dir }, {});
    const path = join(dir, MASTER_KEY_FILE);
    for (const mode of [0o640, 0o604, 0o620]) {
      chmodSync(path, mode);
      assert.throws(() => loadMasterKey({ data_dir: dir }, {}), /chmod 600/);
    }
  });

  it('refuses a damaged key file instead of replacing it', (t) => {
    const dir = tempDirFor(t, 'tessera-master-key-');
    const path = join(dir, MASTER_KEY_FILE);
    writeFileSync(path, 'not a key\n', { mode: 0o600 });
    assert.throws(() => loadMasterKey({ data_dir: dir }, {}), /master\.key must be the base64/);
    assert.equal(readFileSync(path, 'utf8'), 'not a key\n');
  });
});
