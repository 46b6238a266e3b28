/**
 * Issue 15's locations in a real browser against the real server: the fleet
 * map (clustered markers of every device's last position, a live position and
 * status moving a marker, a popup that links to the device) and a device's
 * track over a chosen range. Screenshots land in e2e/screenshots/map-*.png.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { MqttClient } from 'mqtt';
import { ADMIN, connectMqtt, httpJson, publish, startServer, type TestServer } from '../../server/test/helpers.js';
import { CONTEXT, launchBrowser, panelScreenshot, screenshot, signIn, watchErrors } from './browser.js';

const HOUR = 3_600_000;

let server: TestServer;
let browser: Browser;
let page: Page;
let errors: string[];
const devices: Record<string, { id: string; token: string }> = {};
let mqttClient: MqttClient | null = null;

const api = (method: string, p: string, body?: unknown) =>
  httpJson(`${server.httpUrl}${p}`, { method, token: server.api.token!, body: body === undefined ? undefined : JSON.stringify(body) });

async function locate(name: string, body: Record<string, unknown>) {
  const r = await httpJson(`${server.httpUrl}/api/v1/device/location`, { method: 'POST', token: devices[name]!.token, body: JSON.stringify(body) });
  expect(r.status).toBe(202);
}

const nav = (p: Page, name: string) => p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();
const marker = (name: string) => page.locator(`.fleet-marker-dot[data-device-id="${devices[name]!.id}"]`);

beforeAll(async () => {
  server = await startServer();
  const depot = await server.api.projects.create({ name: 'Depot' });
  for (const name of ['tram-1', 'tram-2', 'tram-3', 'truck-paris', 'parked-van']) {
    const r = await api('POST', '/api/v1/devices', { name, ...(name.startsWith('tram') ? { projectId: depot.id } : {}) });
    devices[name] = { id: r.body.id as string, token: r.body.token as string };
  }
  // Three trams a few hundred metres apart in Amsterdam (one cluster at the fleet's zoom), a truck in Paris.
  await locate('tram-1', { lat: 52.3702, lon: 4.8952 });
  await locate('tram-2', { lat: 52.3731, lon: 4.8922 });
  await locate('tram-3', { lat: 52.3676, lon: 4.9041 });
  // The truck's track: a fix every 2 h for five days, ending in Paris an hour ago.
  const now = Date.now();
  for (let i = 60; i >= 0; i--) await locate('truck-paris', { ts: now - HOUR - i * 2 * HOUR, lat: 48.8566 + i * 0.02, lon: 2.3522 + i * 0.03 });
  browser = await launchBrowser();
  const context = await browser.newContext(CONTEXT);
  page = await context.newPage();
  errors = await watchErrors(page);
});

afterAll(async () => {
  await mqttClient?.endAsync();
  await browser?.close();
  await server?.close();
});

describe('fleet map', () => {
  it('shows every located device, the close ones clustered', async () => {
    await signIn(page, server.httpUrl, ADMIN.email, ADMIN.password);
    await nav(page, 'Map');
    await page.getByRole('heading', { name: 'Map', level: 1 }).waitFor();
    await page.getByTestId('map-summary').filter({ hasText: '4 devices on the map' }).waitFor();
    // The van never reported a position: listed nowhere.
    await expect(page.getByRole('table', { name: 'Latest positions' }).getByText('parked-van').count()).resolves.toBe(0);
    // The three trams make one cluster of 3; the truck is a marker of its own.
    await page.locator('.fleet-map .marker-cluster', { hasText: '3' }).waitFor();
    await marker('truck-paris').waitFor();
    expect(await marker('tram-1').count()).toBe(0);
    await screenshot(page, 'map-01-fleet-map');
  });

  it('moves a marker and turns it online as the device connects and reports, without a reload', async () => {
    await page.evaluate(() => ((window as unknown as { __same: boolean }).__same = true));
    const before = (await marker('truck-paris').boundingBox())!;
    await expect(marker('truck-paris').locator('xpath=..').getAttribute('class')).resolves.toContain('fleet-marker-offline');
    mqttClient = await connectMqtt(server.mqttUrl, { username: devices['truck-paris']!.id, password: devices['truck-paris']!.token });
    await page.locator('.fleet-marker-online .fleet-marker-dot').first().waitFor();
    // Paris to Brussels.
    await publish(mqttClient, `devices/${devices['truck-paris']!.id}/location`, JSON.stringify({ lat: 50.8503, lon: 4.3517 }));
    const row = page.locator(`tr[data-device-id="${devices['truck-paris']!.id}"]`);
    await row.getByTestId('position').filter({ hasText: '50.85030, 4.35170' }).waitFor();
    await expect
      .poll(async () => {
        const after = (await marker('truck-paris').boundingBox())!;
        return Math.hypot(after.x - before.x, after.y - before.y);
      })
      .toBeGreaterThan(50);
    const after = (await marker('truck-paris').boundingBox())!;
    // North-east: up and to the right on screen.
    expect(after.y).toBeLessThan(before.y);
    expect(after.x).toBeGreaterThan(before.x);
    expect(await row.getByText('Online').count()).toBe(1);
    expect(await page.evaluate(() => (window as unknown as { __same?: boolean }).__same)).toBe(true);
    await screenshot(page, 'map-02-moved-live');
  });

  it('opens a cluster by zooming, and a marker’s popup links to the device', async () => {
    await page.locator('.fleet-map .marker-cluster', { hasText: '3' }).click();
    await marker('tram-1').waitFor();
    await marker('tram-2').waitFor();
    await marker('tram-3').waitFor();
    await marker('tram-2').click();
    const popup = page.locator('.fleet-popup');
    await popup.getByText('tram-2').waitFor();
    await popup.getByText('Offline').waitFor();
    await panelScreenshot(page.getByTestId('fleet-map'), 'map-03-popup');
    await popup.getByRole('link', { name: 'Open device' }).click();
    await page.getByRole('heading', { name: 'tram-2', level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/devices/${devices['tram-2']!.id}`);
  });

  it('filters by project', async () => {
    await page.goto(`${server.httpUrl}/map`);
    await page.getByTestId('map-summary').filter({ hasText: '4 devices' }).waitFor();
    await page.getByRole('combobox', { name: 'Project' }).selectOption({ label: 'Depot' });
    await page.getByTestId('map-summary').filter({ hasText: '3 devices on the map' }).waitFor();
    expect(new URL(page.url()).searchParams.get('project')).not.toBeNull();
  });
});

describe('a device’s track', () => {
  it('reads the last 24 h at first, and a week downsampled when asked', async () => {
    await page.goto(`${server.httpUrl}/devices/${devices['truck-paris']!.id}`);
    const panel = page.locator('#location');
    // 12 fixes in 24 h, plus the live one to Brussels; a minute's buckets keep every one of them.
    await panel.getByTestId('track-detail').filter({ hasText: 'in the last 24 h' }).waitFor();
    expect(await panel.getByTestId('track-detail').textContent()).toContain('13 points, the last of each 1m, in the last 24 h');
    await panel.getByRole('radio', { name: 'Last 7 d' }).check();
    await panel.getByTestId('track-detail').filter({ hasText: 'in the last 7 days' }).waitFor();
    // 61 fixes over five days and the live one, each in its own 15-minute bucket.
    expect(await panel.getByTestId('track-detail').textContent()).toContain('62 points, the last of each 15m, in the last 7 days');
    await panelScreenshot(panel, 'map-04-device-track-week');
    expect(errors).toEqual([]);
  });
});
