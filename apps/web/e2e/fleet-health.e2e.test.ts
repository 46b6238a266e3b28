/**
 * Issue 16's fleet health page in a real browser against the real server:
 * heartbeats posted through the HTTP device API, the rollup and the
 * early-warning scan run on the server's database, then /health shows the
 * three seed numbers as the API answers them, the failing device at risk with
 * its reason and gap chart, and the numbers of another project when filtered.
 * Also a device's retirement on its page. Screenshots: e2e/screenshots/health-*.png.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { scanFleet } from '../../server/src/modules/health/health-scan.js';
import { rollUpHeartbeats } from '../../server/src/modules/health/health.repository.js';
import { ADMIN, httpJson, startServer, type TestServer } from '../../server/test/helpers.js';
import { formatDays, formatDuration, formatShare } from '../src/features/health/health.js';
import { CONTEXT, PHONE, launchBrowser, panelScreenshot, screenshot, signIn, watchErrors } from './browser.js';

const MIN = 60_000;

let server: TestServer;
let browser: Browser;
let page: Page;
let errors: string[];
const devices: Record<string, { id: string; token: string }> = {};
const projects: Record<string, string> = {};
const now = Date.now();

interface Numbers {
  share: number | null;
  silent: number;
  monitored: number;
  meanS: number | null;
  meanEndedDays: number | null;
}

const api = async <T>(p: string): Promise<T> => {
  const r = await httpJson(`${server.httpUrl}${p}`, { token: server.api.token! });
  expect(r.status).toBe(200);
  return r.body as T;
};

/** What the page should show, asked of the API directly. */
async function numbers(projectId?: string): Promise<Numbers> {
  const scope = projectId ? `projectId=${projectId}` : '';
  const silent = await api<{ share: number | null; silent: number; monitored: number }>(`/api/v1/health/silent?minutes=10&${scope}`);
  const gaps = await api<{ gaps: { meanS: number | null } }>(`/api/v1/health/gaps?${scope}`);
  const life = await api<{ meanEndedDays: number | null }>(`/api/v1/health/lifespans?minutes=10&${scope}`);
  return { share: silent.share, silent: silent.silent, monitored: silent.monitored, meanS: gaps.gaps.meanS, meanEndedDays: life.meanEndedDays };
}

/** Heartbeat times ending at `end`, oldest first, from the gaps (ms) between them. */
function timesFrom(end: number, gapsMs: number[]): number[] {
  const out = [end];
  for (let i = gapsMs.length - 1; i >= 0; i--) out.unshift(out[0]! - gapsMs[i]!);
  return out;
}

/** Posts heartbeats through the device API, 25 at a time. */
async function beat(name: string, times: number[]) {
  for (let i = 0; i < times.length; i += 25) {
    const rs = await Promise.all(
      times
        .slice(i, i + 25)
        .map((ts) => httpJson(`${server.httpUrl}/api/v1/device/heartbeat`, { method: 'POST', token: devices[name]!.token, body: JSON.stringify({ ts }) })),
    );
    for (const r of rs) expect(r.status).toBe(202);
  }
}

const nav = (p: Page, name: string) => p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();

/** The whole text, not a part of it ("5 %" is in "25 %"). */
const exactly = (text: string) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);

async function expectNumbers(p: Page, n: Numbers) {
  await p
    .getByTestId('headline-silent')
    .filter({ hasText: exactly(formatShare(n.share)) })
    .waitFor();
  await p
    .getByTestId('headline-silent-count')
    .filter({ hasText: exactly(`${n.silent} of ${n.monitored}`) })
    .waitFor();
  await p
    .getByTestId('headline-gap')
    .filter({ hasText: exactly(formatDuration(n.meanS)) })
    .waitFor();
  await p
    .getByTestId('headline-lifespan')
    .filter({ hasText: exactly(formatDays(n.meanEndedDays)) })
    .waitFor();
}

beforeAll(async () => {
  server = await startServer();
  projects.plant = (await server.api.projects.create({ name: 'Plant' })).id;
  projects.office = (await server.api.projects.create({ name: 'Office' })).id;
  for (const [name, project] of [
    ['pump-failing', 'plant'],
    ['pump-steady', 'plant'],
    ['door-steady', 'office'],
    ['door-gone', 'office'],
  ] as const) {
    const d = await server.api.devices.create({ name, projectId: projects[project]! });
    devices[name] = { id: d.id, token: d.token };
  }
  browser = await launchBrowser();
  page = await (await browser.newContext(CONTEXT)).newPage();
  errors = await watchErrors(page);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('fleet health page', () => {
  it('says there are no heartbeats yet on a fresh install', async () => {
    await signIn(page, server.httpUrl, ADMIN.email, ADMIN.password);
    await nav(page, 'Fleet health');
    await page.getByRole('heading', { name: 'Fleet health', level: 1 }).waitFor();
    await page.getByText('No heartbeats yet').waitFor();
    await screenshot(page, 'health-01-fresh');
  });

  it('shows the three numbers the API answers, the at-risk device with its reasons and its gap chart', async () => {
    // pump-failing: 120 beats a minute apart, then 30 gaps growing from 1 to 8 minutes, its last beat a minute ago.
    const grow = Array.from({ length: 30 }, (_, i) => MIN * (1 + (7 * i) / 29));
    await beat('pump-failing', timesFrom(now - MIN, [...Array<number>(120).fill(MIN), ...grow]));
    await beat('pump-steady', timesFrom(now - 20_000, Array<number>(150).fill(MIN)));
    await beat('door-steady', timesFrom(now - 30_000, Array<number>(150).fill(2 * MIN)));
    // door-gone: two days of a beat every 10 minutes, silent for the last three hours: its lifespan ended.
    await beat('door-gone', timesFrom(now - 180 * MIN, Array<number>(288).fill(10 * MIN)));
    // The worker's minute rollup and its early-warning scan, here at once.
    await rollUpHeartbeats(server.tether.db);
    const scan = await scanFleet(server.tether.db);
    expect(scan.warned).toBe(1);

    const all = await numbers();
    expect(all).toMatchObject({ silent: 1, monitored: 4, share: 0.25 });
    expect(all.meanEndedDays).toBeGreaterThan(1.9);
    await page.reload();
    await expectNumbers(page, all);
    await page
      .getByTestId('headline-lifespan-alive')
      .filter({ hasText: exactly('3') })
      .waitFor();

    // The at-risk list: the failing pump with its reasons, and the scan that judged it.
    const atRisk = page.getByRole('table', { name: 'Devices at risk' });
    const row = atRisk.locator(`tr[data-device-id="${devices['pump-failing']!.id}"]`);
    await row.waitFor();
    expect(await atRisk.locator('tbody tr[data-device-id]').count()).toBe(1);
    await expect(row.textContent()).resolves.toMatch(/gaps grew from|late/);
    await page.getByTestId('scan-summary').filter({ hasText: 'judged 4 devices' }).waitFor();
    expect(await row.getByRole('link', { name: 'pump-failing' }).getAttribute('href')).toBe(`/devices/${devices['pump-failing']!.id}`);

    // Clicking the row opens its gaps over the last 24 h: every heartbeat, the latest gap 8 minutes.
    await row.locator('td').nth(2).click();
    const chart = page.getByTestId('device-gap-chart');
    await chart.locator('canvas').waitFor();
    expect(Number(await chart.getAttribute('data-points'))).toBe(150);
    await chart.getByText('latest gap 8 min').waitFor();
    await expect(row.getByRole('button', { name: /Hide gaps/ }).getAttribute('aria-expanded')).resolves.toBe('true');

    // The three charts drew, the silent list holds the gone door.
    for (const id of ['chart-silent-share', 'chart-gap-histogram', 'chart-survival']) await page.getByTestId(id).locator('canvas').waitFor();
    await page.getByRole('table', { name: 'Silent devices' }).getByRole('link', { name: 'door-gone' }).waitFor();
    await screenshot(page, 'health-02-page');
    await panelScreenshot(page.locator('#at-risk'), 'health-03-at-risk');
    await panelScreenshot(page.locator('#health-charts'), 'health-04-charts');
  });

  it('changes the numbers with the project filter, kept in the URL across a reload', async () => {
    const office = await numbers(projects.office);
    expect(office).toMatchObject({ silent: 1, monitored: 2, share: 0.5 });
    await page.getByLabel('Project').selectOption(projects.office!);
    await expectNumbers(page, office);
    expect(new URL(page.url()).searchParams.get('projectId')).toBe(projects.office);
    // No device of the office is at risk: the empty state names the last scan.
    await page.locator('#at-risk').getByText('No device is at risk').waitFor();
    await page.reload();
    await expectNumbers(page, office);
    // The select shows the project once the project list has loaded.
    await page.getByLabel('Project').locator(`option[value="${projects.office}"]`).waitFor({ state: 'attached' });
    await expect(page.getByLabel('Project').inputValue()).resolves.toBe(projects.office);

    // A longer silence threshold: the gone door (3 h) is no longer silent after 240 minutes.
    await page.getByLabel('Silent after (minutes)').fill('240');
    await page
      .getByTestId('headline-silent-count')
      .filter({ hasText: exactly('0 of 2') })
      .waitFor();
    expect(new URL(page.url()).searchParams.get('minutes')).toBe('240');
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await expectNumbers(page, await numbers());
  });

  it('reads on a phone', async () => {
    const phone = await (await browser.newContext(PHONE)).newPage();
    await signIn(phone, server.httpUrl, ADMIN.email, ADMIN.password, '/health');
    await phone
      .getByTestId('headline-silent')
      .filter({ hasText: exactly('25 %') })
      .waitFor();
    await phone
      .locator(`tr[data-device-id="${devices['pump-failing']!.id}"]`)
      .getByRole('button', { name: /Show gaps/ })
      .click();
    await phone.getByTestId('device-gap-chart').locator('canvas').waitFor();
    for (const id of ['chart-silent-share', 'chart-gap-histogram', 'chart-survival']) await phone.getByTestId(id).locator('canvas').waitFor();
    // Nothing wider than the screen.
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(phone, 'health-05-phone');
    await panelScreenshot(phone.locator('#at-risk'), 'health-06-phone-at-risk');
    await phone.context().close();
  });

  it('retires a device from its page and the silent share stops counting it', async () => {
    await page.goto(`${server.httpUrl}/devices/${devices['door-gone']!.id}`);
    const section = page.locator('#retirement');
    await section.getByLabel('Reason').fill('Battery swollen, replaced');
    await section.getByRole('button', { name: 'Retire device' }).click();
    await section.getByTestId('retired-note').filter({ hasText: 'Battery swollen, replaced' }).waitFor();
    await page.getByRole('heading', { level: 1 }).getByText('Retired').waitFor();
    await panelScreenshot(section, 'health-07-retired');
    const after = await numbers();
    expect(after).toMatchObject({ silent: 0, monitored: 3 });
    await page.goto(`${server.httpUrl}/health`);
    await expectNumbers(page, after);

    await page.goto(`${server.httpUrl}/devices/${devices['door-gone']!.id}`);
    await page.locator('#retirement').getByRole('button', { name: 'Unretire' }).click();
    await page.locator('#retirement').getByLabel('Reason').waitFor();
    expect((await numbers()).silent).toBe(1);
    expect(errors).toEqual([]);
  });
});
