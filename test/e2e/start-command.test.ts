import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  CHILD_DEADLINE_MS,
  commandLineOf,
  descendantsOf,
  isRunning,
  ROOT,
  spawnServing,
  tempDir,
} from '../helpers/cli.ts';

/** Polls until no process of `pids` is left; bounded by the child deadline. */
async function allEnded(pids: readonly number[]): Promise<number[]> {
  const deadline = Date.now() + CHILD_DEADLINE_MS;
  let left = pids.filter(isRunning);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    left = left.filter(isRunning);
  }
  return left;
}

/**
 * Issue 15: a supervisor or container runtime stops a service by sending SIGTERM to
 * the process it started. `npm start` ran `sh -c "node src/main.ts serve"`: npm passed
 * the signal to the shell, the shell died, and Node went on serving, orphaned.
 */
describe('npm start under a supervisor', () => {
  it('stops the server when npm receives SIGTERM, leaving no process behind', async (t) => {
    // An empty configuration file of its own: a developer's ./tessera.toml stays out.
    const config = join(tempDir(), 'tessera.toml');
    writeFileSync(config, '');
    const npm = await spawnServing('npm', ['start', '--', '--config', config], { cwd: ROOT });
    const npmPid = npm.child.pid as number;
    const tree = descendantsOf(npmPid);
    t.after(() => {
      for (const pid of [npmPid, ...tree]) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
    });
    // npm runs the script through `sh -c`; `exec` makes that shell become the server.
    assert.equal(tree.length, 1, tree.map(commandLineOf).join('\n'));
    assert.match(commandLineOf(tree[0] as number), /node \S*src\/main\.ts serve --config /);

    process.kill(npmPid, 'SIGTERM');
    assert.equal(await npm.exited, 0, npm.output());
    assert.deepEqual(await allEnded(tree), [], 'no server process outlives npm');
    assert.match(npm.output(), /"msg":"stopped"/, 'the server stopped gracefully');
    await assert.rejects(fetch(`${npm.baseUrl}/liveness`), 'nothing listens any more');
  });
});
