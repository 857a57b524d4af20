/**
 * Headless Chromium for browser tests, through playwright-core (no bundled browser download):
 * the Debian `chromium` package (.ci/run installs it). A fresh temporary profile per launch (playwright's default); no network
 * services of Chrome's own (sync, updates, QUIC) so tests see only what the page does.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  mkdirSync(path.resolve(import.meta.dirname, '..', 'test-artifacts'), { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
