/**
 * Issue 17's search box in a real browser against the real server: typing in
 * the top bar lists devices, projects and properties in groups; arrows and
 * Enter open a device, a click opens one, Escape closes the list, Enter alone
 * opens the device list filtered by the text; on a phone it is in the menu.
 * Screenshots: e2e/screenshots/search-*.png.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { CreatedDevice } from '@tether/api-client';
import { ADMIN, httpJson, startServer, type TestServer } from '../../server/test/helpers.js';
import { CONTEXT, PHONE, launchBrowser, screenshot, signIn, watchErrors } from './browser.js';

let server: TestServer;
let browser: Browser;
let page: Page;
let errors: string[];
let station: CreatedDevice;
let thermostat: CreatedDevice;

const SEARCH = 'Search';

beforeAll(async () => {
  server = await startServer();
  const api = server.api;
  const project = await api.projects.create({ name: 'Pumphouse', description: 'River intake' });
  station = await api.devices.create({
    name: 'Pump Station North',
    serial: 'SN-PUMP-0001',
    projectId: project.id,
    tags: ['intake'],
    metadata: { location: { site: 'Rotterdam Harbour' } },
  });
  await api.devices.create({ name: 'pump', tags: ['spare'] });
  await api.devices.create({ name: 'Big old pumping unit' });
  await api.devices.create({ name: 'Boiler 2', metadata: { pumpModel: 'PX-200' } });
  thermostat = await api.devices.create({ name: 'Thermostat 7' });
  const put = await httpJson(`${server.httpUrl}/api/v1/devices/${thermostat.id}/properties/pump_circuit`, {
    method: 'PUT',
    token: api.token,
    body: JSON.stringify({ value: 'Circuit B' }),
  });
  expect(put.status).toBe(200);
  browser = await launchBrowser();
  page = await (await browser.newContext(CONTEXT)).newPage();
  errors = await watchErrors(page);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('the search box in the top bar', () => {
  it('lists devices, projects and properties as one types; arrows and Enter open a device', async () => {
    await signIn(page, server.httpUrl, ADMIN.email, ADMIN.password, '/');
    const box = page.getByRole('combobox', { name: SEARCH, exact: true });
    await expect(box.getAttribute('aria-expanded')).resolves.toBe('false');
    await box.fill('PUMP');
    const list = page.getByRole('listbox', { name: 'Search results' });
    const devices = list.getByRole('group', { name: 'Devices' });
    await devices.getByRole('option', { name: /Big old pumping unit/ }).waitFor();
    await expect(box.getAttribute('aria-expanded')).resolves.toBe('true');
    // Best first: equal, starting with it, containing it; then a metadata key and a property name.
    expect(await devices.getByRole('option').allTextContents()).toEqual([
      'pump',
      'Pump Station North',
      'Big old pumping unit',
      'Boiler 2pumpModel: PX-200',
      'Thermostat 7pump_circuit: Circuit B',
    ]);
    expect(await list.getByRole('group', { name: 'Projects' }).getByRole('option').allTextContents()).toEqual(['Pumphouse']);
    expect(await list.getByRole('group', { name: 'Properties' }).getByRole('option').allTextContents()).toEqual(['pump_circuit: Circuit Bdevice Thermostat 7']);
    await expect(list.getByRole('option').last().textContent()).resolves.toBe('See all devices matching “PUMP”');

    await box.press('ArrowDown');
    await box.press('ArrowDown');
    const chosen = devices.getByRole('option', { name: /Pump Station North/ });
    await expect(chosen.getAttribute('aria-selected')).resolves.toBe('true');
    await expect(box.getAttribute('aria-activedescendant')).resolves.toBe(await chosen.getAttribute('id'));
    await screenshot(page, 'search-dropdown', false);
    await box.press('Enter');
    await page.waitForURL(`**/devices/${station.id}`);
    await page.getByRole('heading', { name: 'Pump Station North', level: 1 }).waitFor();
    await expect(box.inputValue()).resolves.toBe('');
    await expect(box.getAttribute('aria-expanded')).resolves.toBe('false');
  });

  it('opens what is clicked, closes on Escape, and opens the filtered device list on Enter alone', async () => {
    // "/" focuses the box from anywhere but a field.
    await page.keyboard.press('/');
    const box = page.getByRole('combobox', { name: SEARCH, exact: true });
    await expect(box.evaluate((el) => el === document.activeElement)).resolves.toBe(true);
    await page.keyboard.type('circuit b');
    const property = page.getByRole('group', { name: 'Properties' }).getByRole('option', { name: /pump_circuit: Circuit B/ });
    await property.waitFor();
    await box.press('Escape');
    await property.waitFor({ state: 'hidden' });
    await expect(box.inputValue()).resolves.toBe('circuit b');
    await box.press('ArrowDown');
    await property.click();
    await page.waitForURL(`**/devices/${thermostat.id}`);
    await page.getByRole('heading', { name: 'Thermostat 7', level: 1 }).waitFor();

    await box.fill('rotterdam');
    await page.getByRole('option', { name: /location\.site: Rotterdam Harbour/ }).waitFor();
    await box.press('Enter');
    await page.waitForURL('**/devices?q=rotterdam');
    await expect(page.getByLabel(/^Search by name/).inputValue()).resolves.toBe('rotterdam');
    const rows = page.locator('table tbody tr');
    await expect(rows.first().textContent()).resolves.toContain('Pump Station North');
    expect(await rows.count()).toBe(1);

    await box.fill('nothing like this');
    await page.getByText('Nothing found for “nothing like this”.').waitFor();
    await box.press('Escape');
    expect(errors).toEqual([]);
  });

  it('sits in the menu on a phone, and a choice closes the menu', async () => {
    const phone = await (await browser.newContext(PHONE)).newPage();
    const phoneErrors = await watchErrors(phone);
    await signIn(phone, server.httpUrl, ADMIN.email, ADMIN.password, '/');
    const box = phone.getByRole('combobox', { name: SEARCH, exact: true });
    await expect(box.isVisible()).resolves.toBe(false);
    await phone.getByRole('button', { name: 'Menu' }).click();
    await box.fill('station');
    await phone.getByRole('option', { name: /Pump Station North/ }).waitFor();
    const width = await phone.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(390);
    await screenshot(phone, 'search-phone', false);
    await phone.getByRole('option', { name: /Pump Station North/ }).tap();
    await phone.waitForURL(`**/devices/${station.id}`);
    await expect(phone.getByRole('button', { name: 'Menu' }).getAttribute('aria-expanded')).resolves.toBe('false');
    await expect(box.isVisible()).resolves.toBe(false);
    expect(phoneErrors).toEqual([]);
    await phone.context().close();
  });
});
