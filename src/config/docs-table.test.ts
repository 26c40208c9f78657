import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { configurationTable } from './docs-table.ts';
import { ENV_SHORTCUTS } from './env.ts';
import { SETTINGS } from './fields.ts';
import { tomlLiteral } from './render.ts';

it('docs/configuration.md holds the settings table generated from the schema', () => {
  const page = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  assert.ok(
    page.includes(configurationTable()),
    'docs/configuration.md is out of date: paste the output of configurationTable() into its Settings section',
  );
});

it('the README configuration table names real settings, variables and defaults', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const rows = [
    ...readme.matchAll(/^\|\s*`([a-z_]+\.[a-z_]+)`\s*\|\s*`(TESSERA_[A-Z_]+)`\s*\|([^|]+)\|/gm),
  ];
  assert.ok(rows.length >= 10, 'README has a configuration table');
  for (const [, path, envName, shownDefault] of rows) {
    const setting = SETTINGS.find((candidate) => candidate.path === path);
    assert.ok(setting, `README lists unknown setting ${path}`);
    const variables = [
      setting.envName,
      ...Object.keys(ENV_SHORTCUTS).filter((name) => ENV_SHORTCUTS[name] === path),
    ];
    assert.ok(variables.includes(envName as string), `${envName} does not set ${path}`);
    const expected =
      setting.schema.default === ''
        ? 'empty'
        : `\`${String(tomlLiteral(setting.schema.default)).replaceAll('"', '')}\``;
    assert.equal(shownDefault?.trim(), expected, `README default of ${path}`);
  }
});
