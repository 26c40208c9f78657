import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { readEnvOverrides } from './env.ts';
import type { Config } from './schema.ts';
import { validateConfig } from './validate.ts';

export const DEFAULT_CONFIG_FILE = 'tessera.toml';

/** A configuration that cannot be used; the CLI prints `problems` and exits with code 2. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(source: string, problems: readonly string[]) {
    super(`invalid configuration (${source}):\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export interface LoadConfigOptions {
  /** An explicit file (`--config PATH`); it must exist. */
  readonly path?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

export interface LoadedConfig {
  readonly config: Config;
  /** The file that was read, or undefined when only defaults and environment apply. */
  readonly file: string | undefined;
}

/** File (explicit, or ./tessera.toml when present), then TESSERA_* overrides, then defaults. */
export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const file = options.path ? resolve(cwd, options.path) : findDefaultFile(cwd);
  const source = file ?? 'defaults and environment';
  const parsed = file ? readToml(file) : {};
  const fromEnv = readEnvOverrides(env);
  const result = validateConfig(parsed, fromEnv.overrides);
  const problems = [...fromEnv.problems, ...(result.ok ? [] : result.problems)];
  if (problems.length > 0 || !result.ok) throw new ConfigError(source, problems);
  return { config: result.config, file };
}

function findDefaultFile(cwd: string): string | undefined {
  const candidate = resolve(cwd, DEFAULT_CONFIG_FILE);
  return existsSync(candidate) ? candidate : undefined;
}

function readToml(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : String(error);
    throw new ConfigError(file, [`cannot read ${file}: ${reason}`]);
  }
  try {
    return parse(text);
  } catch (error) {
    if (error instanceof TomlError) {
      throw new ConfigError(file, [
        `TOML syntax error at line ${error.line}, column ${error.column}: ${firstLine(error.message)}`,
      ]);
    }
    throw error;
  }
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

/** The defaults alone, with no file and no environment: what tests and examples start from. */
export function defaultConfig(): Config {
  const result = validateConfig({}, []);
  if (!result.ok)
    throw new Error(`default configuration is invalid: ${result.problems.join('; ')}`);
  return result.config;
}
