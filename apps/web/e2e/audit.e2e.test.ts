/**
 * Issue 17's audit log in a real browser against the real server: writes made
 * through the API and one failed sign-in show on the Admin page's audit log,
 * filtered by action and actor, on a desktop and a phone.
 * Screenshots: e2e/screenshots/audit-*.png.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { ADMIN, httpJson, startServer, type TestServer } from '../../server/test/helpers.js';
import { CONTEXT, PHONE, launchBrowser, panelScreenshot, screenshot, signIn, watchErrors } from './browser.js';

let server: TestServer;
let browser: Browser;
let page: Page;
let errors: string[];

beforeAll(async () => {
  server = await startServer();
  const api = server.api;
  const project = await api.projects.create({ name: 'Line 1' });
  const device = await api.devices.create({ name: 'press-7', projectId: project.id });
  await api.devices.update(device.id, { tags: ['hall-b'] });
  await api.users.create({ email: 'ops@example.com', password: 'ops-password-1', name: 'Olga Ops', role: 'operator' });
  const key = await api.apiKeys.create({ name: 'ci', role: 'viewer' });
  await api.apiKeys.revoke(key.id);
  const wrong = await httpJson(`${server.httpUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'x-forwarded-for': '198.51.100.23' },
    body: JSON.stringify({ email: ADMIN.email, password: 'not-the-password' }),
  });
  expect(wrong.status).toBe(401);
  browser = await launchBrowser();
  page = await (await browser.newContext(CONTEXT)).newPage();
  errors = await watchErrors(page);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('audit log on the Admin page', () => {
  it('lists the writes and sign-ins, and filters by action and actor', async () => {
    await signIn(page, server.httpUrl, ADMIN.email, ADMIN.password, '/admin');
    const table = page.getByTestId('audit-log');
    await table.waitFor();
    for (const action of [
      'project.create',
      'device.create',
      'device.update',
      'user.create',
      'api_key.create',
      'api_key.revoke',
      'auth.login_failed',
      'auth.login',
    ]) {
      expect(await table.locator(`tr[data-action="${action}"]`).count(), action).toBeGreaterThan(0);
    }
    const failed = table.locator('tr[data-action="auth.login_failed"]');
    await expect(failed.textContent()).resolves.toContain('198.51.100.23');
    await expect(failed.textContent()).resolves.toContain('not signed in');
    await screenshot(page, 'audit-desktop');

    const panel = page.locator('#audit');
    await panel.getByLabel('Action').selectOption('device.');
    await table.locator('tr[data-action="project.create"]').waitFor({ state: 'detached' });
    const actions = await table.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-action')));
    expect(actions.sort()).toEqual(['device.create', 'device.update']);
    await panelScreenshot(panel, 'audit-filtered');

    await panel.getByLabel('Action').selectOption('');
    await panel.getByLabel('Actor').selectOption({ label: 'Olga Ops' });
    await panel.getByText('No entries').waitFor();
    expect(errors).toEqual([]);
  });

  it('reads on a phone: one entry per card, nothing wider than the screen', async () => {
    const phone = await (await browser.newContext(PHONE)).newPage();
    await signIn(phone, server.httpUrl, ADMIN.email, ADMIN.password, '/admin');
    const panel = phone.locator('#audit');
    await panel.getByTestId('audit-log').waitFor();
    await panel.getByLabel('Action').selectOption('auth.');
    await panel.locator('tr[data-action="project.create"]').waitFor({ state: 'detached' });
    const width = await phone.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(390);
    await panelScreenshot(panel, 'audit-phone');
    await phone.context().close();
  });
});
