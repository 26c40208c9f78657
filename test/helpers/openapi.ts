import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TesseraApp } from '../../src/app.ts';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');
export const run = promisify(execFile);

/** The document `GET /openapi.json` serves, written to `dir`; returns its path. */
export async function writeOpenApiDocument(app: TesseraApp, dir: string): Promise<string> {
  await app.ready();
  const file = join(dir, 'openapi.json');
  writeFileSync(file, JSON.stringify(app.swagger(), null, 2));
  return file;
}

/** A tool of the repo's install run by the repo's Node (the system's may be older). */
export function runTool(script: string, args: readonly string[], cwd = REPO_ROOT) {
  return run(process.execPath, [join(REPO_ROOT, 'node_modules', script), ...args], {
    cwd,
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    maxBuffer: 16 * 1024 * 1024,
  });
}
