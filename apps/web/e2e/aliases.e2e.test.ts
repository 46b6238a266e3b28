/**
 * Issue 15's stream aliases in a real browser against the real server: an
 * operator stitches "site-1 temperature" from the old sensor's readings until
 * its replacement half an hour ago and the new sensor's since, in the editor;
 * the alias's chart (the device charts' component) shows the old sensor's
 * values before the change and the new one's after, and follows the new sensor
 * live while the old one's readings stay out. Screenshots: e2e/screenshots/alias-*.png.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { ADMIN, httpJson, startServer, type TestServer } from '../../server/test/helpers.js';
import { CONTEXT, launchBrowser, panelScreenshot, screenshot, signIn, watchErrors } from './browser.js';

const MIN = 60_000;
/** Both sensors report every minute for the last 90 min; the new one took over 30 min ago. */
const NOW = Math.floor(Date.now() / MIN) * MIN;
const CHANGE = NOW - 30 * MIN;
const NAME = 'site-1 temperature';

let server: TestServer;
let browser: Browser;
let page: Page;
let errors: string[];
const sensors: Record<'old' | 'new', { id: string; token: string }> = {} as never;

const api = (method: string, p: string, body?: unknown) =>
  httpJson(`${server.httpUrl}${p}`, { method, token: server.api.token!, body: body === undefined ? undefined : JSON.stringify(body) });

async function post(which: 'old' | 'new', body: unknown) {
  const r = await httpJson(`${server.httpUrl}/api/v1/device/telemetry`, { method: 'POST', token: sensors[which].token, body: JSON.stringify(body) });
  expect(r.status).toBe(202);
}

/** A time as <input type="datetime-local"> takes it, in the browser's zone. */
const localInput = (ms: number) =>
  page.evaluate((t) => {
    const d = new Date(t);
    const p = (n: number) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
  }, ms);

const nav = (p: Page, name: string) => p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();

beforeAll(async () => {
  server = await startServer();
  for (const which of ['old', 'new'] as const) {
    const r = await api('POST', '/api/v1/devices', { name: `sensor-${which}` });
    sensors[which] = { id: r.body.id as string, token: r.body.token as string };
  }
  // The old sensor drifts around 19 °C; the new one reads about 22 °C.
  const minutes = Array.from({ length: 90 }, (_, i) => NOW - (89 - i) * MIN);
  await post(
    'old',
    minutes.map((ts, i) => ({ ts, values: { temperature: Math.round((19 + Math.sin(i / 6)) * 100) / 100 } })),
  );
  await post(
    'new',
    minutes.map((ts, i) => ({ ts, values: { temperature: Math.round((22 + Math.cos(i / 5) / 2) * 100) / 100 } })),
  );
  browser = await launchBrowser();
  page = await (await browser.newContext(CONTEXT)).newPage();
  errors = await watchErrors(page);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('stream aliases', () => {
  let aliasId: string;

  it('an operator makes an alias from two sensors’ taps in the editor', async () => {
    await signIn(page, server.httpUrl, ADMIN.email, ADMIN.password);
    await nav(page, 'Aliases');
    await page.getByText('No aliases yet').waitFor();
    await page.getByRole('link', { name: 'New alias' }).click();
    const form = page.getByRole('form', { name: 'New alias' });
    await form.getByLabel('Name').fill(NAME);
    await form.getByLabel('Unit').fill('°C');
    await form.getByLabel('Description').fill('The sensor was replaced half an hour ago.');
    await form.getByLabel('Tap 1 device').selectOption({ label: 'sensor-old' });
    await form.getByLabel('Tap 1 key').fill('temperature');
    await form.getByLabel('Tap 1 from').fill(await localInput(NOW - 24 * 60 * MIN));
    await form.getByRole('button', { name: 'Add tap' }).click();
    await form.getByLabel('Tap 2 device').selectOption({ label: 'sensor-new' });
    // The key is carried over from the tap before; the new sensor's reported keys are offered.
    await expect(form.getByLabel('Tap 2 key').inputValue()).resolves.toBe('temperature');
    await form.getByLabel('Tap 2 from').fill(await localInput(CHANGE));
    await screenshot(page, 'alias-01-editor');
    await form.getByRole('button', { name: 'Create alias' }).click();
    await page.getByRole('heading', { name: NAME, level: 1 }).waitFor();
    aliasId = new URL(page.url()).pathname.split('/').pop()!;
    const taps = page.getByRole('table', { name: 'Taps' });
    await taps.getByRole('link', { name: 'sensor-old' }).waitFor();
    await taps.getByRole('link', { name: 'sensor-new' }).waitFor();
    const stored = (await api('GET', `/api/v1/aliases/${aliasId}`)).body;
    expect(stored).toMatchObject({
      name: NAME,
      unit: '°C',
      taps: [{ deviceId: sensors.old.id }, { deviceId: sensors.new.id, from: new Date(CHANGE).toISOString() }],
    });
  });

  it('charts the old sensor before the change and the new one after, with the device charts’ component', async () => {
    const chart = page.getByTestId(`chart-${NAME}`);
    await chart.waitFor();
    // The same points the API gives for the last hour: the old sensor's up to the change, the new one's from it.
    const history = (await api('GET', `/api/v1/aliases/${aliasId}/telemetry?from=${NOW - 60 * MIN}&to=${NOW}`)).body as unknown as {
      series: Record<string, { ts: string; value: number }[]>;
    };
    const points = history.series[NAME]!;
    expect(points.filter((p) => Date.parse(p.ts) < CHANGE).every((p) => p.value < 20.5)).toBe(true);
    expect(points.filter((p) => Date.parse(p.ts) >= CHANGE).every((p) => p.value > 21)).toBe(true);
    // The chart's window is the hour before the page loaded, a little after NOW: 59 or 60 of the 61 minutes.
    await expect.poll(async () => Number(await chart.getAttribute('data-points'))).toBeGreaterThanOrEqual(points.length - 2);
    expect(Number(await chart.getAttribute('data-points'))).toBeLessThanOrEqual(points.length);
    await expect(chart.getByTestId(`chart-last-${NAME}`).textContent()).resolves.toBe(`${points.at(-1)!.value} °C`);
    await expect(chart.locator('figcaption').textContent()).resolves.toContain('(°C)');
    await panelScreenshot(page.locator('#telemetry'), 'alias-02-chart');
  });

  it('follows the tap that feeds it now, live, and leaves the old sensor out', async () => {
    const last = page.getByTestId(`chart-last-${NAME}`);
    await post('old', { temperature: 5.55 });
    await post('new', { temperature: 23.45 });
    await page.getByTestId(`chart-last-${NAME}`).filter({ hasText: '23.45 °C' }).waitFor();
    await post('new', { temperature: 23.56 });
    await page.getByTestId(`chart-last-${NAME}`).filter({ hasText: '23.56 °C' }).waitFor();
    expect(await last.textContent()).not.toContain('5.55');
    // Read again (no live merge): the old sensor's reading is still out.
    await page.reload();
    await page.getByTestId(`chart-last-${NAME}`).filter({ hasText: '23.56 °C' }).waitFor();
    const history = (await api('GET', `/api/v1/aliases/${aliasId}/telemetry`)).body as unknown as { series: Record<string, { value: number }[]> };
    expect(history.series[NAME]!.map((p) => p.value)).not.toContain(5.55);
  });

  it('lists the alias with its taps', async () => {
    await nav(page, 'Aliases');
    const row = page.locator(`tr[data-alias-id="${aliasId}"]`);
    await row.getByText('sensor-old').waitFor();
    await row.getByText('sensor-new').waitFor();
    await screenshot(page, 'alias-03-list');
    expect(errors).toEqual([]);
  });
});
