import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { configurationTable } from './docs-table.ts';

it('docs/configuration.md holds the settings table generated from the schema', () => {
  const page = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  assert.ok(
    page.includes(configurationTable()),
    'docs/configuration.md is out of date: paste the output of configurationTable() into its Settings section',
  );
});
