import assert from 'node:assert/strict';
import { join } from 'node:path';
import { it } from 'node:test';
import { buildTestApp } from '../../test/helpers/app.ts';
import { REPO_ROOT, runTool, writeOpenApiDocument } from '../../test/helpers/openapi.ts';
import { tempDirFor } from '../../test/helpers/temp-dir.ts';

interface LintProblem {
  ruleId: string;
  severity: string;
  message: string;
  location: Array<{ pointer: string }>;
}

// Issue 15 item 16: `redocly lint` reported 79 errors (no security, no servers) and
// 80 warnings (no operationId, no license, a WebSocket route without a success).
it('the OpenAPI document passes `redocly lint` with the recommended rules: no error, no warning', async (t) => {
  const test = await buildTestApp();
  t.after(() => test.close());
  const file = await writeOpenApiDocument(test.app, tempDirFor(t));
  const config = join(REPO_ROOT, 'redocly.yaml');
  const { stdout } = await runTool('@redocly/cli/bin/cli.js', [
    'lint',
    file,
    `--config=${config}`,
    '--format=json',
    '--max-problems=1000',
  ]).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
  const report = JSON.parse(stdout) as { problems: LintProblem[] };
  const problems = report.problems.map(
    (p) => `${p.severity} ${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`,
  );
  assert.deepEqual(problems, []);
});
