import { SECTIONS, type Setting, type SettingSchema } from './fields.ts';

/** Short names the issue and the docs promise, applied before the general form. */
export const ENV_SHORTCUTS: Readonly<Record<string, string>> = {
  TESSERA_HOST: 'server.host',
  TESSERA_PORT: 'server.port',
  TESSERA_DATA_DIR: 'storage.data_dir',
  TESSERA_DATABASE_URL: 'storage.database_url',
  TESSERA_REDIS_URL: 'redis.url',
  TESSERA_LOG_LEVEL: 'logging.level',
};

export interface EnvOverride {
  readonly setting: Setting;
  readonly envName: string;
  readonly value: unknown;
}

export interface EnvReadResult {
  readonly overrides: readonly EnvOverride[];
  readonly problems: readonly string[];
}

/**
 * Reads `TESSERA_*` variables. A variable that names a known section but an unknown
 * key is a problem (a typo must not silently fall back to a default); variables of
 * no section (e.g. TESSERA_MASTER_KEY) are left to whoever reads them.
 */
export function readEnvOverrides(env: NodeJS.ProcessEnv): EnvReadResult {
  const shortcuts: EnvOverride[] = [];
  const general: EnvOverride[] = [];
  const problems: string[] = [];
  for (const [envName, raw] of Object.entries(env)) {
    if (raw === undefined || !envName.startsWith('TESSERA_')) continue;
    const shortcut = ENV_SHORTCUTS[envName];
    if (shortcut) {
      const setting = settingByPath(shortcut);
      shortcuts.push({ setting, envName, value: coerceEnvValue(setting.schema, raw) });
      continue;
    }
    const section = sectionForEnv(envName);
    if (!section) continue;
    const key = envName.slice(`TESSERA_${section.name.toUpperCase()}_`.length).toLowerCase();
    const setting = section.settings.find((candidate) => candidate.key === key);
    if (!setting) {
      problems.push(unknownEnvMessage(envName, section.name, section.settings));
      continue;
    }
    general.push({ setting, envName, value: coerceEnvValue(setting.schema, raw) });
  }
  // The general form is more specific than a shortcut, so it wins when both are set.
  return { overrides: [...shortcuts, ...general], problems };
}

function settingByPath(path: string): Setting {
  for (const section of SECTIONS) {
    const setting = section.settings.find((candidate) => candidate.path === path);
    if (setting) return setting;
  }
  throw new Error(`env shortcut points at unknown setting ${path}`);
}

function sectionForEnv(envName: string) {
  const matches = SECTIONS.filter((section) =>
    envName.startsWith(`TESSERA_${section.name.toUpperCase()}_`),
  );
  return matches.sort((a, b) => b.name.length - a.name.length)[0];
}

function unknownEnvMessage(envName: string, section: string, settings: readonly Setting[]): string {
  const known = settings.map((setting) => setting.envName).join(', ');
  return `${envName} is not a setting of [${section}] (known: ${known})`;
}

/**
 * Environment values are strings; turn them into the schema's type when they are
 * well-formed, and otherwise pass the raw string on so validation can quote it.
 * A list is comma-separated and each item is coerced by the list's item schema, so
 * `5,300,1800` becomes `[5, 300, 1800]` for a list of integers; a malformed item
 * stays its (trimmed) text, and validation names the setting and quotes the list.
 */
export function coerceEnvValue(schema: SettingSchema, raw: string): unknown {
  if (schema.type !== 'array') return coerceScalar(schema, raw);
  const text = raw.trim();
  if (text === '') return [];
  const items = text.split(',').map((item) => item.trim());
  const itemSchema = schema.items;
  return itemSchema ? items.map((item) => coerceScalar(itemSchema, item)) : items;
}

function coerceScalar(schema: SettingSchema, raw: string): unknown {
  const text = raw.trim();
  switch (schema.type) {
    case 'integer':
    case 'number':
      return /^[+-]?\d+(\.\d+)?$/.test(text) ? Number(text) : raw;
    case 'boolean':
      if (/^(true|1|yes|on)$/i.test(text)) return true;
      if (/^(false|0|no|off)$/i.test(text)) return false;
      return raw;
    default:
      return raw;
  }
}
