/**
 * Issue 17's device provisioning in a real browser against the real server: a
 * project owner creates the project's provisioning key (the secret shown once),
 * a device provisions itself with it over HTTP and publishes, and a device made
 * with a claim code is claimed into the project from the devices page.
 * Screenshots: e2e/screenshots/provisioning-*.png.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { ADMIN, httpJson, startServer, type TestServer } from '../../server/test/helpers.js';
import { CONTEXT, launchBrowser, panelScreenshot, screenshot, signIn, watchErrors } from './browser.js';

let server: TestServer;
let browser: Browser;
let page: Page;
let errors: string[];
let projectId = '';

beforeAll(async () => {
  server = await startServer();
  projectId = (await server.api.projects.create({ name: 'Line 1' })).id;
  browser = await launchBrowser();
  page = await (await browser.newContext(CONTEXT)).newPage();
  errors = await watchErrors(page);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('provisioning key', () => {
  it('is created on the project page, its secret shown once, and provisions a device that then publishes', async () => {
    await signIn(page, server.httpUrl, ADMIN.email, ADMIN.password, `/projects/${projectId}`);
    const panel = page.getByTestId('provisioning-panel');
    await panel.getByText('No provisioning key').waitFor();
    await panel.getByRole('button', { name: 'Create provisioning key' }).click();
    await panel.getByTestId('provisioning-secret').waitFor();
    const key = (await panel.getByTestId('provisioning-key').textContent())?.trim() ?? '';
    const secret = (await panel.getByTestId('provisioning-secret').textContent())?.trim() ?? '';
    expect(key.length).toBeGreaterThan(8);
    expect(secret.length).toBeGreaterThan(8);
    await panelScreenshot(panel, 'provisioning-01-key');

    // The device provisions itself with them (ThingsBoard's request shape) and publishes with its new token.
    const r = await httpJson(`${server.httpUrl}/api/v1/provision`, {
      method: 'POST',
      body: JSON.stringify({ deviceName: 'SN-0042', provisionDeviceKey: key, provisionDeviceSecret: secret }),
    });
    expect(r.status).toBe(200);
    const token = r.body.credentialsValue as string;
    expect((await httpJson(`${server.httpUrl}/api/v1/device/telemetry`, { method: 'POST', token, body: JSON.stringify({ temperature: 21.5 }) })).status).toBe(
      202,
    );

    // After a reload the secret is gone for good; the device is in the project.
    await page.reload();
    await panel.getByTestId('provisioning-key').waitFor();
    expect(await panel.getByTestId('provisioning-secret').count()).toBe(0);
    await page.goto(`${server.httpUrl}/devices?projectId=${projectId}`);
    await page.getByRole('link', { name: 'SN-0042' }).waitFor();
  });
});

describe('claim code', () => {
  it('claims a device made with a code into a project from the devices page; a wrong code is refused', async () => {
    const made = await httpJson(`${server.httpUrl}/api/v1/devices`, {
      method: 'POST',
      token: server.api.token,
      body: JSON.stringify({ name: 'Meter 7', claimCode: true }),
    });
    expect(made.status).toBe(201);
    const code = made.body.claimCode as string;
    await page.goto(`${server.httpUrl}/devices`);
    await page.getByText('Claim a device').click();
    const form = page.getByTestId('claim-form');
    await form.getByLabel('Claim code').fill('ZZZZ-ZZZZ-ZZZZ');
    await form.getByLabel('Claim into').selectOption({ label: 'Line 1' });
    await form.getByRole('button', { name: 'Claim device' }).click();
    await form.getByRole('alert').waitFor();
    await screenshot(page, 'provisioning-02-claim-refused', false);
    // As printed on the label, typed in lower case with spaces.
    await form.getByLabel('Claim code').fill(code.toLowerCase().replaceAll('-', ' '));
    await form.getByRole('button', { name: 'Claim device' }).click();
    await expect.poll(async () => (await server.api.devices.get(made.body.id as string)).projectId, { timeout: 10_000 }).toBe(projectId);
    await screenshot(page, 'provisioning-03-claimed', false);
    expect(errors.filter((e) => !/401|404|CLAIM_CODE_NOT_FOUND/.test(e))).toEqual([]);
  });
});
