import assert from 'node:assert/strict';
import { glob, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { registeredErrorCodes } from '../src/platform/errors.ts';

const root = resolve(import.meta.dirname, '..');

/** Every domain declares its codes in an `errors.ts`; importing them fills the registry. */
async function loadAllErrorCodes() {
  for await (const file of glob('src/**/*errors.ts', { cwd: root })) {
    await import(pathToFileURL(resolve(root, file)).href);
  }
  return registeredErrorCodes();
}

/** Rows of docs/errors.md look like: | `code` | 404 | meaning |. */
function documentedCodes(page: string): Map<string, number> {
  const rows = new Map<string, number>();
  for (const match of page.matchAll(/^\|\s*`([a-z0-9_]+)`\s*\|\s*(\d{3})\s*\|/gm)) {
    rows.set(match[1] as string, Number(match[2]));
  }
  return rows;
}

it('every error code is documented in docs/errors.md with its status, and nothing else is', async () => {
  const codes = await loadAllErrorCodes();
  assert.ok(codes.size > 0, 'found error codes');
  const documented = documentedCodes(await readFile(resolve(root, 'docs/errors.md'), 'utf8'));
  for (const [code, definition] of codes) {
    assert.equal(
      documented.get(code),
      definition.status,
      `docs/errors.md row for \`${code}\` (${definition.status})`,
    );
  }
  for (const code of documented.keys()) {
    assert.ok(codes.has(code), `docs/errors.md documents \`${code}\`, which no errors.ts defines`);
  }
});
