/**
 * The ward dashboard in headless Chromium (playwright-core + Debian's chromium) against the real
 * pipeline (embedded MQTT → bridge → Kafka → processor → gateway): log in with a token, tiles
 * update, an alert appears, acknowledging it on one page changes its state on a second page,
 * and a dropped connection resumes without losing an alert raised meanwhile.
 * Screenshots go to test-artifacts/ (not committed).
 */
import path from 'node:path';
import type mqtt from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../browser.ts';
import { builtStaticDir, mqttClient, reading, type Stack, startStack, token } from '../helpers.ts';

const ART = path.resolve(import.meta.dirname, '../../test-artifacts');
let stack: Stack;
let dev: mqtt.MqttClient;
let browser: Browser;
let seq = 0;

// Device time moves forward across calls (readings older than what a patient's rules already
// saw are late, not applied), starting in the past so that sustain durations pass quickly.
const clock = new Map<string, number>();
async function publish(patient: string, hr: number, count: number, stepMs = 1000): Promise<void> {
  for (let i = 0; i < count; i++) {
    const ts = (clock.get(patient) ?? Date.now() - 300_000) + stepMs;
    clock.set(patient, ts);
    await dev.publishAsync(
      `wards/dash-1/patients/${patient}/vitals`,
      reading({ deviceId: `mon-${patient}`, seq: ++seq, ts, vitals: { heartRate: hr, spo2: 97 } }),
      { qos: 1 },
    );
  }
}

async function open(tok: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('pageerror', (e) => {
    throw e;
  });
  await page.goto(`${stack.gateway.url}/#access_token=${tok}`);
  await page.locator('#conn.live').waitFor({ timeout: 30_000 });
  return page;
}

beforeAll(async () => {
  stack = await startStack({}, { staticDir: await builtStaticDir() });
  dev = await mqttClient(stack.bridge.mqttUrl);
  browser = await launchChromium();
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await dev?.endAsync();
  await stack?.close();
});

describe('ward dashboard in Chromium', () => {
  it('shows live tiles, an alert, an acknowledgement seen on a second page, and resumes after a dropped connection', async () => {
    const tok = await token({ role: 'charge_nurse', wards: ['dash-1'], sub: 'cn-1' });
    const page = await open(tok);
    await page.locator('#who', { hasText: 'cn-1 · charge_nurse' }).waitFor({ timeout: 10_000 });

    // Tiles appear and update.
    await publish('dp1', 72, 3);
    const hr = page.locator('article[data-patient="dp1"] [data-v="heartRate"]');
    await hr.filter({ hasText: '72' }).waitFor({ timeout: 30_000 });
    await publish('dp1', 88, 2);
    await hr.filter({ hasText: '88' }).waitFor({ timeout: 30_000 });

    // Sustained tachycardia (event time): an alert appears on the page.
    await publish('dp1', 140, 20); // a jump over 60/min within 5 s would be screened as an artifact
    const alert = page.locator('.alert.high[data-state]').filter({ hasText: 'dp1' }).first();
    await alert.waitFor({ timeout: 60_000 });
    await page.screenshot({ path: path.join(ART, 'dashboard-alert.png') });

    // A second page (another nurse's screen) sees the acknowledgement made on the first.
    const page2 = await open(await token({ role: 'nurse', wards: ['dash-1'], sub: 'n-2' }));
    const alertId = await alert.getAttribute('data-alert');
    const onPage2 = page2.locator(`.alert[data-alert="${alertId}"]`);
    await onPage2.waitFor({ timeout: 30_000 });
    expect(await onPage2.getAttribute('data-acked')).toBe('no');
    await page.locator(`.alert[data-alert="${alertId}"] button[data-act="ack"]`).click();
    await page2.locator(`.alert[data-alert="${alertId}"][data-acked="yes"]`).waitFor({ timeout: 30_000 });
    expect(await page2.locator(`.alert[data-alert="${alertId}"]`).textContent()).toContain('by cn-1 (charge_nurse)');
    await page2.screenshot({ path: path.join(ART, 'dashboard-acknowledged.png') });

    // Drop page 2's connection; an alert raised meanwhile is there after the resume.
    await page2.evaluate(() => (window as unknown as { wardstream: { drop(): void } }).wardstream.drop());
    await publish('dp2', 72, 2);
    await publish('dp2', 131, 20);
    await page2.locator('#conn.live').filter({ hasText: 'resumed' }).waitFor({ timeout: 30_000 });
    await page2.locator('.alert.high').filter({ hasText: 'dp2' }).first().waitFor({ timeout: 60_000 });
    // Page 1 never dropped: it has the same alert, and page 2 shows no duplicate of it.
    await page.locator('.alert.high').filter({ hasText: 'dp2' }).first().waitFor({ timeout: 30_000 });
    const dp2Ids = await page2
      .locator('.alert')
      .filter({ hasText: 'dp2' })
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-alert')));
    expect(new Set(dp2Ids).size).toBe(dp2Ids.length);
    await page2.screenshot({ path: path.join(ART, 'dashboard-resumed.png') });
  });

  it('an admin token sees no vitals and no action buttons; a ward outside the token is not offered', async () => {
    const page = await open(await token({ role: 'admin', wards: ['dash-1'], sub: 'adm' }));
    expect(await page.locator('#ward option').allTextContents()).toEqual(['dash-1']);
    await page.locator('.alert').first().waitFor({ timeout: 30_000 });
    expect(await page.locator('button[data-act]').count()).toBe(0);
    expect(await page.locator('[data-v="heartRate"]').allTextContents()).toEqual(expect.arrayContaining(['–']));
  });
});
