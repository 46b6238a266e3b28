/**
 * Store-and-forward reports in a real browser against the real server (issue
 * 15): a device uploads a CSV of buffered readings with a bad line through the
 * device SDK; the device page shows the report parsed, its counts, and the bad
 * line with its line number and reason, and the good readings as the device's
 * latest values. Screenshots land in e2e/screenshots/reports-*.png.
 */
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { HttpDeviceClient } from '@tether/device-sdk';
import { ADMIN, startServer, until, type TestServer } from '../../server/test/helpers.js';
import { CONTEXT, launchBrowser, panelScreenshot, signIn, watchErrors } from './browser.js';

let server: TestServer;
let browser: Browser;
let page: Page;
let errors: string[];

beforeAll(async () => {
  server = await startServer();
  browser = await launchBrowser();
  page = await (await browser.newContext(CONTEXT)).newPage();
  errors = await watchErrors(page);
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('reports on the device page', () => {
  it('shows a parsed report with its counts and its bad line, and the good readings as latest values', async () => {
    const device = await server.api.devices.create({ name: 'cold-store-logger' });
    const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toISOString();
    const csv = ['ts,temperature,door', `${at(30)},4.5,false`, `${at(20)},5.5,true`, 'half past nine,6,false', `${at(10)},3.75,false`, ''].join('\n');
    const sdk = new HttpDeviceClient(server.httpUrl, device.token);
    const receipt = await sdk.uploadReport(Readable.from([csv]), { format: 'csv' });
    await until(async () => ((await sdk.reportStatus(receipt.id)).state === 'done' ? true : null));

    await signIn(page, server.httpUrl, ADMIN.email, ADMIN.password, `/devices/${device.id}`);
    const panel = page.locator('#reports');
    const row = panel.locator(`tr[data-report="${receipt.id}"]`);
    await row.getByText('Done').waitFor();
    await expect(row.locator('td[data-label="Format"]').textContent()).resolves.toBe('CSV');
    await expect(row.locator('td[data-label="Lines stored"]').textContent()).resolves.toBe('3');
    await expect(row.locator('td[data-label="Readings"]').textContent()).resolves.toBe('6');

    await row.locator('td[data-label="Bad lines"] summary').click();
    const bad = panel.getByRole('table', { name: /Bad lines of the report/ });
    const line = bad.getByRole('row').nth(1);
    await line.getByText('invalid_timestamp').waitFor();
    await expect(line.getByRole('cell').first().textContent()).resolves.toBe('4');
    await panelScreenshot(panel, 'reports-01-device-reports');

    // The last good line is the device's latest value, and the three good readings are the chart.
    await page.getByText('3.75').first().waitFor();
    const chart = page.locator('[data-testid="chart-temperature"][data-points="3"]');
    await chart.waitFor();
    await panelScreenshot(chart, 'reports-02-chart-of-good-lines');
    expect(errors).toEqual([]);
  });
});
