import { Readable } from 'node:stream';
import { runCli } from '../../src/cli/program.ts';
import type { Config } from '../../src/config/schema.ts';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `tessera <args>` in process, as main.ts does, against `storage` (the database
 * a test server uses), with `stdin` as its input.
 */
export async function runAdminCli(
  storage: Config['storage'],
  args: readonly string[],
  options: { stdin?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(['node', 'tessera', ...args], {
    env: {
      TESSERA_DATA_DIR: storage.data_dir,
      TESSERA_DATABASE_URL: storage.database_url,
      ...options.env,
    },
    stdin: Readable.from([options.stdin ?? '']),
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
  });
  return { code, stdout, stderr };
}

/** The JSON a `--json` command printed. */
export function jsonOf<T = Record<string, unknown>>(run: CliRun): T {
  if (run.code !== 0) throw new Error(`tessera exited ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}
