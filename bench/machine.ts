import { readFileSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';

/** Where the scratch SQLite files live: the longest mount point containing tmpdir(). */
function tmpDisk(): string {
  try {
    const mounts = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((line) => line.split(' '))
      .filter(([, point]) => point !== undefined && tmpdir().startsWith(point));
    const best = mounts.sort((a, b) => (b[1]?.length ?? 0) - (a[1]?.length ?? 0))[0];
    return best ? `${tmpdir()} on ${best[0]} (${best[2]})` : tmpdir();
  } catch {
    return tmpdir();
  }
}

function sqliteVersion(): string {
  const db = new DatabaseSync(':memory:');
  const row = db.prepare('SELECT sqlite_version() AS v').get() as { v: string };
  db.close();
  return row.v;
}

/** The server settings that decide what "durable" costs. */
async function postgresDetails(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string; setting: string }>(
      `SELECT name, current_setting(name) AS setting FROM pg_settings WHERE name IN
       ('server_version', 'fsync', 'synchronous_commit', 'wal_sync_method', 'shared_buffers')`,
    );
    const value = (name: string) => rows.find((r) => r.name === name)?.setting ?? '?';
    return `PostgreSQL ${value('server_version')} on the same machine (fsync=${value('fsync')}, synchronous_commit=${value('synchronous_commit')}, wal_sync_method=${value('wal_sync_method')}, shared_buffers=${value('shared_buffers')})`;
  } finally {
    await client.end();
  }
}

/** Markdown bullet lines describing the machine the figures come from. */
export async function machineDetails(postgresUrl: string | undefined): Promise<string[]> {
  const cpu = cpus();
  const lines = [
    `CPU: ${cpu.length} cores, ${cpu[0]?.model ?? 'unknown'}`,
    `RAM: ${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
    `Node ${process.version} on ${process.platform} ${release()}`,
    `Disk: ${tmpDisk()}`,
    `SQLite ${sqliteVersion()} (node:sqlite)`,
  ];
  if (postgresUrl) lines.push(await postgresDetails(postgresUrl));
  return lines.map((line) => `- ${line}`);
}
