import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { ROOT } from './cli.ts';

/** A phone's width and a desktop's: every hosted page is checked, and pictured, at both. */
export const PAGE_WIDTHS = {
  phone: { width: 375, height: 740 },
  desktop: { width: 1280, height: 800 },
} as const;

/**
 * With TESSERA_SCREENSHOTS=1, saves the page at both widths to
 * docs/images/<prefix>-<name>-<phone|desktop>.png (the pictures docs/oidc.md shows,
 * prefix `oidc`; single sign-on's are `sso`); otherwise does nothing. The viewport is
 * left at the desktop's.
 */
export async function saveScreenshots(tab: Page, name: string, prefix = 'oidc'): Promise<void> {
  if (process.env.TESSERA_SCREENSHOTS !== '1') return;
  const dir = join(ROOT, 'docs/images');
  mkdirSync(dir, { recursive: true });
  for (const [label, size] of Object.entries(PAGE_WIDTHS)) {
    await tab.setViewportSize(size);
    await tab.screenshot({ path: join(dir, `${prefix}-${name}-${label}.png`), fullPage: true });
  }
}
