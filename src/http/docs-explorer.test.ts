import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { it } from 'node:test';
import { chromium } from 'playwright-core';
import { buildTestApp } from '../../test/helpers/app.ts';
import { apiKeyFor } from '../../test/helpers/auth.ts';

const CHROMIUM = '/usr/bin/chromium';
// CI always runs it (and installs Debian's chromium); elsewhere only a missing browser skips.
const skip =
  process.env.CI === undefined && !existsSync(CHROMIUM) ? `${CHROMIUM} is not installed` : false;

// Issue 15 item 16: the explorer had no "Authorize" (no security schemes) and its
// topbar logo, an SVG with an inline <style>, broke the CSP (style-src 'self').
it('/docs in Chromium: no CSP violation or console error, Authorize (bearer, then API key) makes Try it out succeed', {
  skip,
}, async (t) => {
  const test = await buildTestApp({}, 'sqlite', { actAs: false });
  t.after(() => test.close());
  const apiKey = await apiKeyFor(test.services, 'default');
  const base = await test.app.listen({ host: '127.0.0.1', port: 0 });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox'],
  });
  t.after(() => browser.close());
  const page = await browser.newPage();
  // Each wait is for something the page shows; the bound is only for a machine under load.
  page.setDefaultTimeout(90_000);
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning')
      problems.push(`console ${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  await page.exposeFunction('reportViolation', (text: string) => problems.push(text));
  // A string: the script runs in the page, whose DOM types this project does not load.
  await page.addInitScript({
    content: `document.addEventListener('securitypolicyviolation', (event) =>
      window.reportViolation(\`CSP \${event.violatedDirective} blocked \${event.blockedURI} (\${event.sourceFile})\`));`,
  });

  // Deep link (operationId) to the README's read call.
  await page.goto(`${base}/docs#/events/getEntityEvents`);
  const dialog = page.locator('.modal-ux');
  /** Signs in through the Authorize dialog with `scheme` alone, out of any other. */
  const authorizeWith = async (scheme: 'bearerAuth' | 'apiKey') => {
    await page.locator('.auth-wrapper button.authorize').click();
    await dialog.waitFor();
    const schemes = await dialog.locator('.auth-container h4').allTextContents();
    for (const name of ['bearerAuth', 'apiKey'])
      assert.ok(
        schemes.some((text) => text.includes(name)),
        `${name} in ${schemes}`,
      );
    for (const logout of await dialog.locator('button', { hasText: 'Logout' }).all())
      await logout.click();
    const form = dialog.locator('.auth-container', {
      has: page.locator('h4', { hasText: scheme }),
    });
    // An API key is accepted as a bearer token too, so one secret serves both.
    await form.locator('input').fill(apiKey);
    await form.locator('button.authorize').click();
    await form.getByText('Authorized').waitFor();
    await dialog.locator('button.close-modal').click();
  };

  const operation = page.locator('#operations-events-getEntityEvents');
  /** "Try it out" of the README's read; waits for the request that carries `header`. */
  const execute = async (header: string) => {
    await operation.locator('button.execute').click();
    await operation.locator('.curl-command', { hasText: header }).waitFor();
    const status = operation.locator('.live-responses-table .response .response-col_status');
    assert.equal((await status.textContent())?.trim(), '200', header);
    assert.match(
      String(await operation.locator('.live-responses-table .microlight').first().textContent()),
      /"entity_id": "order-1"/,
    );
  };

  await authorizeWith('bearerAuth');
  await operation.locator('.try-out__btn').click();
  await operation.locator('input[placeholder="entity_id"]').fill('order-1');
  await execute('Authorization: Bearer tsk_');
  await authorizeWith('apiKey');
  await execute('X-API-Key: tsk_');
  assert.deepEqual(problems, []);
});
