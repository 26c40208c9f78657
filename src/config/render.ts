import { describeAllowed } from './describe.ts';
import { SECTIONS, type Setting } from './fields.ts';
import type { Config } from './schema.ts';

/** A TOML literal for a config value (JSON string escapes are valid TOML basic strings). */
export function tomlLiteral(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(tomlLiteral).join(', ')}]`;
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

const MASK = '********';

/** Hides a URL's password but keeps the rest, so operators can still see where it points. */
export function maskUrlPassword(value: string): string {
  try {
    const url = new URL(value);
    if (!url.password) return value;
    url.password = MASK;
    return url.toString();
  } catch {
    return value ? MASK : value;
  }
}

export function maskSetting(setting: Setting, value: unknown): unknown {
  if (typeof value !== 'string' || value === '') return value;
  if (setting.schema.secret === 'url') return maskUrlPassword(value);
  if (setting.schema.secret === true) return MASK;
  return value;
}

/** The config with every secret masked, as nested plain data (for `config show --json`). */
export function maskConfig(config: Config): Record<string, Record<string, unknown>> {
  const masked: Record<string, Record<string, unknown>> = {};
  for (const section of SECTIONS) {
    const values = config[section.name] as Record<string, unknown>;
    masked[section.name] = Object.fromEntries(
      section.settings.map((setting) => [setting.key, maskSetting(setting, values[setting.key])]),
    );
  }
  return masked;
}

/** The effective config as TOML with secrets masked (`tessera config show`). */
export function renderConfig(config: Config): string {
  const masked = maskConfig(config);
  const lines: string[] = [];
  for (const section of SECTIONS) {
    lines.push(`[${section.name}]`);
    for (const setting of section.settings) {
      lines.push(`${setting.key} = ${tomlLiteral(masked[section.name]?.[setting.key])}`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

/** A complete, commented example file holding every default (`tessera config generate`). */
export function generateExampleConfig(): string {
  const lines = [
    '# Tessera configuration.',
    '# Every setting below shows its default; delete what you do not change.',
    '# Each one can also be set from the environment as TESSERA_<SECTION>_<KEY>, which wins',
    '# over this file. Shortcuts: TESSERA_HOST, TESSERA_PORT, TESSERA_DATA_DIR,',
    '# TESSERA_DATABASE_URL, TESSERA_REDIS_URL, TESSERA_LOG_LEVEL.',
    '',
  ];
  for (const section of SECTIONS) {
    lines.push(`# ${section.schema.description ?? section.name}`, `[${section.name}]`);
    for (const setting of section.settings) {
      lines.push(
        `# ${setting.schema.description ?? ''}`,
        `# Allowed: ${describeAllowed(setting.schema)}. Environment: ${setting.envName}.`,
        `${setting.key} = ${tomlLiteral(setting.schema.default)}`,
        '',
      );
    }
    if (section.settings.length === 0) lines.push('');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}
