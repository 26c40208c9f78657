import { Value } from 'typebox/value';
import { describeAllowed, showValue } from './describe.ts';
import type { EnvOverride } from './env.ts';
import { SECTIONS } from './fields.ts';
import { type Config, ConfigSchema } from './schema.ts';

export type ValidationResult =
  | { readonly ok: true; readonly config: Config }
  | { readonly ok: false; readonly problems: readonly string[] };

type Table = Record<string, unknown>;

function isTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks a parsed config file plus environment overrides against the schema and
 * fills in defaults. Every problem names the setting, what it got and what is
 * allowed, so an operator can fix it without reading code.
 */
export function validateConfig(
  file: unknown,
  overrides: readonly EnvOverride[] = [],
): ValidationResult {
  const problems: string[] = [];
  const merged: Record<string, Table> = {};
  const sources = new Map<string, string>();
  const fileTables = isTable(file) ? file : {};

  for (const [name, value] of Object.entries(fileTables)) {
    const section = SECTIONS.find((candidate) => candidate.name === name);
    if (!section) {
      problems.push(`unknown section [${name}] (known: ${SECTIONS.map((s) => s.name).join(', ')})`);
      continue;
    }
    if (!isTable(value)) {
      problems.push(`[${name}] must be a table of settings, got ${showValue(value)}`);
      continue;
    }
    for (const key of Object.keys(value)) {
      if (!section.settings.some((setting) => setting.key === key)) {
        const known = section.settings.map((setting) => setting.key).join(', ');
        problems.push(`unknown setting ${name}.${key} (known: ${known})`);
      }
    }
  }

  for (const section of SECTIONS) {
    const table: Table = {};
    const fromFile = fileTables[section.name];
    for (const setting of section.settings) {
      if (isTable(fromFile) && setting.key in fromFile) table[setting.key] = fromFile[setting.key];
    }
    merged[section.name] = table;
  }
  for (const override of overrides) {
    const table = merged[override.setting.section] as Table;
    table[override.setting.key] = override.value;
    sources.set(override.setting.path, override.envName);
  }

  for (const section of SECTIONS) {
    const table = merged[section.name] as Table;
    for (const setting of section.settings) {
      if (!(setting.key in table)) continue;
      const value = table[setting.key];
      if (Value.Check(setting.schema, value)) continue;
      const source = sources.get(setting.path);
      const where = source ? ` (from ${source})` : '';
      problems.push(
        `${setting.path}${where} must be ${describeAllowed(setting.schema)}, got ${showValue(value)}`,
      );
    }
  }

  if (problems.length > 0) return { ok: false, problems };
  const config = Value.Default(ConfigSchema, merged) as Config;
  if (!Value.Check(ConfigSchema, config)) {
    // Every setting was checked above, so this only fires on a schema bug.
    const first = Value.Errors(ConfigSchema, config)[0];
    return {
      ok: false,
      problems: [`invalid configuration: ${first?.message ?? 'unknown reason'}`],
    };
  }
  return { ok: true, config };
}
