import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const MAIN = resolve(ROOT, 'src/main.ts');
/** The documented start command: a shell script that `exec`s Node 24 on src/main.ts. */
export const BIN = resolve(ROOT, 'bin/tessera');
/**
 * How long a child gets to come up or finish before a test gives up on it. Not a
 * measure of speed: a safety net against a hang, generous enough for a loaded 2-core
 * machine. Every wait ends as soon as its condition holds.
 */
export const CHILD_DEADLINE_MS = 120_000;

/** Environment for a child Tessera: the parent's, minus any TESSERA_* that would leak in. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('TESSERA_')) env[name] = value;
  }
  return { ...env, ...extra };
}

const tempDirs: string[] = [];
// Child processes may still hold files until they exit, so clean up at the very end.
process.on('exit', () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix = 'tessera-e2e-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `tessera ARGS` to completion in `cwd` (a temp dir, so no stray ./tessera.toml applies). */
export function runTessera(
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): CliResult {
  const result = spawnSync(process.execPath, [MAIN, ...args], {
    cwd: options.cwd ?? tempDir(),
    env: childEnv(options.env),
    encoding: 'utf8',
    timeout: CHILD_DEADLINE_MS,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly baseUrl: string;
  output(): string;
  /** Resolves with the exit code (or signal name) once the process has ended. */
  exited: Promise<number | string>;
}

/** Spawns `bin/tessera serve` on a free port and resolves once it serves. */
export function spawnServer(env: Record<string, string> = {}): Promise<ServerProcess> {
  return spawnServing(BIN, ['serve'], { env });
}

/** The line `tessera serve` logs once it listens (see src/server.ts). */
const SERVING = /"msg":"tessera is serving"/;

/**
 * Spawns `command args` (a Tessera server, possibly behind npm) on a free port and
 * resolves once it logs that it is serving (so the log level must show `info`). Not
 * by polling the port: on a shared machine another process may have taken it.
 * Rejects at once if the process exits first, and after CHILD_DEADLINE_MS as a safety net.
 */
export async function spawnServing(
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): Promise<ServerProcess> {
  // Between freePort() closing its socket and the child binding, another process on a
  // busy machine may take the port: then try another, a bounded number of times.
  for (let attempt = 1; ; attempt++) {
    try {
      return await spawnOnPort(command, args, options, await freePort());
    } catch (error) {
      if (!(error instanceof PortTaken) || attempt === 3) throw error;
    }
  }
}

interface SpawnOptions {
  readonly env?: Record<string, string>;
  readonly cwd?: string;
}

class PortTaken extends Error {}

async function spawnOnPort(
  command: string,
  args: readonly string[],
  options: SpawnOptions,
  port: number,
): Promise<ServerProcess> {
  const child = spawn(command, args, {
    cwd: options.cwd ?? tempDir(),
    env: childEnv({ TESSERA_PORT: String(port), TESSERA_DATA_DIR: tempDir(), ...options.env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  let output = '';
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  const server: ServerProcess = { child, baseUrl, output: () => output, exited };
  const ready = Promise.withResolvers<ServerProcess>();
  const onOutput = (chunk: Buffer) => {
    output += chunk.toString();
    if (SERVING.test(output)) ready.resolve(server);
  };
  child.stdout?.on('data', onOutput);
  child.stderr?.on('data', onOutput);
  exited.then((code) => {
    const Failure = /EADDRINUSE/.test(output) ? PortTaken : Error;
    ready.reject(new Failure(`server exited (${code}) before serving:\n${output}`));
  });
  const deadline = setTimeout(
    () => ready.reject(new Error(`server not serving after ${CHILD_DEADLINE_MS} ms:\n${output}`)),
    CHILD_DEADLINE_MS,
  );
  try {
    return await ready.promise;
  } catch (error) {
    // Behind npm the server is a grandchild: leave none of them running.
    for (const pid of [...descendantsOf(child.pid as number), child.pid as number]) {
      if (isRunning(pid)) process.kill(pid, 'SIGKILL');
    }
    throw error;
  } finally {
    clearTimeout(deadline);
  }
}

/** The ids of `pid`'s children, grandchildren and so on, from /proc (Linux). */
export function descendantsOf(pid: number): number[] {
  const childrenOf = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // ended while we looked
    }
    // `pid (comm) state ppid ...`: comm may hold spaces and parentheses.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    childrenOf.set(ppid, [...(childrenOf.get(ppid) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of childrenOf.get(queue.shift() as number) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** Whether a process with this id still exists (and is not a zombie). */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The command line of a running process, its arguments joined by spaces. */
export function commandLineOf(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
}

/** The platform administrator a spawned server creates on first start (ADMIN_ENV). */
export const ADMIN = { email: 'admin@example.com', password: 'correct horse battery staple' };
export const ADMIN_ENV: Record<string, string> = {
  TESSERA_ADMIN_EMAIL: ADMIN.email,
  TESSERA_ADMIN_PASSWORD: ADMIN.password,
};

/** Logs the bootstrap administrator in; the `Authorization` header value for its requests. */
export async function adminAuthorization(baseUrl: string): Promise<string> {
  const response = await fetch(`${baseUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(ADMIN),
  });
  const body = (await response.json()) as { access_token?: string };
  if (response.status !== 200 || !body.access_token) {
    throw new Error(`admin login failed: ${response.status} ${JSON.stringify(body)}`);
  }
  return `Bearer ${body.access_token}`;
}
