import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { BIN, CHILD_DEADLINE_MS, childEnv, ROOT, tempDir } from '../helpers/cli.ts';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

const IMPORT = /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/g;
const DYNAMIC_IMPORT = /import\(\s*['"]([^'"]+)['"]\s*\)/g;

/**
 * Every package a running Tessera can load: the bare specifiers of the modules
 * src/main.ts reaches through value (not type-only) imports, followed file by file.
 */
function runtimePackages(entry: string): Set<string> {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    const specifiers = [
      ...[...source.matchAll(IMPORT)].filter((m) => !m[2]).map((m) => m[3] as string),
      ...[...source.matchAll(DYNAMIC_IMPORT)].map((m) => m[1] as string),
    ];
    for (const specifier of specifiers) {
      if (specifier.startsWith('.')) queue.push(resolve(dirname(file), specifier));
      else packages.add(specifier);
    }
  }
  assert.ok(seen.size > 50, `followed ${seen.size} files from ${entry}`);
  return packages;
}

const packageName = (specifier: string) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

/**
 * Issue 15: `npm ci --omit=dev`, the usual production install, left out the `node`
 * package that runs Tessera. What a production install keeps is `dependencies`, so
 * the start command and everything it loads must come from there.
 */
describe('a production install (npm ci --omit=dev) runs Tessera', () => {
  it('starts with bin/tessera, whose Node comes from a production dependency', () => {
    assert.equal(pkg.scripts.start, 'exec bin/tessera serve');
    assert.equal(pkg.bin.tessera, 'bin/tessera');
    assert.match(pkg.dependencies.node ?? '', /^\^24\./, 'Node 24 is a production dependency');
    assert.equal(pkg.devDependencies.node, undefined);
    assert.match(readFileSync(BIN, 'utf8'), /node="\$root\/node_modules\/node\/bin\/node"/);
  });

  it('loads no package at run time that a production install leaves out', () => {
    const builtins = new Set(builtinModules);
    const needed = [...runtimePackages(join(ROOT, 'src/main.ts'))]
      .filter((specifier) => !specifier.startsWith('node:') && !builtins.has(specifier))
      .map(packageName);
    assert.deepEqual(
      needed.filter((name) => !(name in pkg.dependencies)),
      [],
    );
    // What npm itself would install from the lock file (a dry run: nothing fetched).
    const dir = tempDir('tessera-ci-');
    for (const file of ['package.json', 'package-lock.json']) {
      copyFileSync(join(ROOT, file), join(dir, file));
    }
    const dryRun = spawnSync(
      'npm',
      ['ci', '--omit=dev', '--dry-run', '--ignore-scripts', '--offline', '--no-audit', '--no-fund'],
      { cwd: dir, env: childEnv(), encoding: 'utf8', timeout: CHILD_DEADLINE_MS },
    );
    assert.equal(dryRun.status, 0, dryRun.stderr);
    const installed = new Set(
      [...dryRun.stdout.matchAll(/^add (\S+) \S+$/gm)].map((match) => match[1]),
    );
    assert.ok(installed.has('node'), 'the node package is installed');
    assert.ok(!installed.has('typescript'), 'devDependencies are not');
    assert.deepEqual(
      needed.filter((name) => !installed.has(name)),
      [],
    );
  });
});

/** A copy of bin/tessera in a directory of its own, next to the real src/. */
function installedElsewhere(): string {
  const root = tempDir('tessera-bin-');
  mkdirSync(join(root, 'bin'));
  copyFileSync(BIN, join(root, 'bin/tessera'));
  symlinkSync(join(ROOT, 'src'), join(root, 'src'));
  return root;
}

/** A `node` on PATH that claims to be `version` and otherwise runs the real one. */
function fakeNodeOnPath(version: string): string {
  const dir = tempDir('tessera-path-');
  writeFileSync(
    join(dir, 'node'),
    `#!/bin/sh\n[ "$1" = -e ] && [ "${version}" != "${process.versions.node}" ] && exit 1\nexec "${process.execPath}" "$@"\n`,
    { mode: 0o755 },
  );
  return dir;
}

function runBin(root: string, pathDir: string) {
  return spawnSync(join(root, 'bin/tessera'), ['--version'], {
    env: { ...childEnv(), PATH: `${pathDir}:/usr/bin:/bin` },
    encoding: 'utf8',
    timeout: CHILD_DEADLINE_MS,
  });
}

describe('bin/tessera without node_modules/node', () => {
  it('falls back to a node on PATH that is new enough', () => {
    const result = runBin(installedElsewhere(), fakeNodeOnPath(process.versions.node));
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^\d+\.\d+\.\d+\n$/);
  });

  it('refuses an older node with a message that says what to do', () => {
    const result = runBin(installedElsewhere(), fakeNodeOnPath('20.20.2'));
    assert.equal(result.status, 127);
    assert.match(result.stderr, /needs Node\.js >= 22\.18: run `npm ci --omit=dev`/);
  });
});
