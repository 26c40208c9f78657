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
it('/docs in Chromium: no CSP violation or console error, Authorize with an API key, then a call succeeds', {
  skip,
}, async (t) => {
  const test = await buildTestApp({}, 'sqlite', { actAs: false });
  t.after(() => test.close());
  const apiKey = await apiKeyFor(test.identity, 'default');
  const base = await test.app.listen({ host: '127.0.0.1', port: 0 });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox'],
  });
  t.after(() => browser.close());
  const page = await browser.newPage();
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
  await page.locator('button.authorize').first().click();
  const dialog = page.locator('.modal-ux');
  await dialog.waitFor();
  const schemes = await dialog.locator('.auth-container h4').allTextContents();
  assert.ok(
    schemes.some((text) => text.includes('bearerAuth')),
    String(schemes),
  );
  assert.ok(
    schemes.some((text) => text.includes('apiKey')),
    String(schemes),
  );
  const apiKeyForm = dialog.locator('.auth-container', { hasText: 'X-API-Key' });
  await apiKeyForm.locator('input').fill(apiKey);
  await apiKeyForm.locator('button.authorize').click();
  await apiKeyForm.getByText('Authorized').waitFor();
  await dialog.locator('button.close-modal').click();

  const operation = page.locator('#operations-events-getEntityEvents');
  await operation.locator('.try-out__btn').click();
  await operation.locator('input[placeholder="entity_id"]').fill('order-1');
  await operation.locator('button.execute').click();
  const status = operation.locator('.live-responses-table .response .response-col_status');
  await status.waitFor();
  assert.equal((await status.textContent())?.trim(), '200');
  assert.match(
    String(await operation.locator('.live-responses-table .microlight').first().textContent()),
    /"entity_id": "order-1"/,
  );
  assert.deepEqual(problems, []);
});
