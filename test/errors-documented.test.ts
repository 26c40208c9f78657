import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { it } from 'node:test';
// The whole server and CLI, so that every module that registers codes has run.
import '../src/app.ts';
import '../src/cli/program.ts';
import { cataloguedCodes } from '../src/error-catalogue.ts';
import { registeredErrorCodes } from '../src/platform/errors.ts';

const root = resolve(import.meta.dirname, '..');

/** Rows of docs/errors.md look like: | `code` | 404 | meaning |. */
function documentedCodes(page: string): Map<string, number> {
  const rows = new Map<string, number>();
  for (const match of page.matchAll(/^\|\s*`([a-z0-9_]+)`\s*\|\s*(\d{3})\s*\|/gm)) {
    rows.set(match[1] as string, Number(match[2]));
  }
  return rows;
}

it('every error code is documented in docs/errors.md with its status, and nothing else is', async () => {
  const codes = registeredErrorCodes();
  const catalogued = cataloguedCodes();
  assert.ok(catalogued.size > 0, 'found error codes');
  for (const code of codes.keys()) {
    assert.ok(
      catalogued.has(code),
      `\`${code}\` is registered but its set is not in src/error-catalogue.ts`,
    );
  }
  for (const code of catalogued) assert.ok(codes.has(code), `\`${code}\` is catalogued`);
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
