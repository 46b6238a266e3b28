/**
 * The dashboard in a real browser against the real server: sign in, create a
 * device, publish over MQTT with a real client, and watch values, charts and
 * alerts arrive live; then roles, a dropped live socket, an expired session and
 * a phone-width layout. Screenshots land in e2e/screenshots/.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page, WebSocketRoute } from 'playwright-core';
import type { MqttClient } from 'mqtt';
import { ApiError, TetherClient } from '@tether/api-client';
import type { CommandMessage } from '@tether/contracts';
import { DeviceClient } from '@tether/device-sdk';
import { ADMIN, connectMqtt, publish, startServer, type TestServer } from '../../server/test/helpers.js';
import { WEB_DIST } from '../../server/src/platform/http/web-app.js';
import { CONTEXT, PHONE, launchBrowser, panelScreenshot, pngImage, screenshot, signIn, watchErrors } from './browser.js';

const VIEWER = { email: 'viewer@example.com', password: 'viewer-password-1' };

let server: TestServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let errors: string[];
let device: { id: string; token: string; name: string };
let mqttClient: MqttClient | undefined;
/** pump-1: made from a template, connected with the device SDK, answering commands. */
let pump: { id: string; token: string };
let pumpClient: DeviceClient | undefined;
let templateId: string;
const commandsSeen: CommandMessage[] = [];
const configsSeen: Record<string, unknown>[] = [];

beforeAll(async () => {
  // Access tokens live 10 s (the minimum), so the whole suite runs through transparent refreshes.
  server = await startServer({ TETHER_ACCESS_TOKEN_TTL_S: '10' });
  browser = await launchBrowser();
  context = await browser.newContext(CONTEXT);
  page = await context.newPage();
  errors = await watchErrors(page);
});

afterAll(async () => {
  mqttClient?.end(true);
  await pumpClient?.close(true);
  await browser?.close();
  await server?.close();
});

/** The page's scroll width, and elements that reach past the viewport (some may be clipped), to explain a failure. */
async function overflow(p: Page): Promise<{ width: number; offenders: string[] }> {
  return p.evaluate(() => {
    const vw = document.documentElement.clientWidth;
    const offenders = [...document.querySelectorAll<HTMLElement>('body *')]
      .filter((el) => el.getBoundingClientRect().right > vw + 1)
      .slice(0, 8)
      .map((el) => `${el.tagName.toLowerCase()}.${[...el.classList].join('.')} (${Math.round(el.getBoundingClientRect().right)})`);
    return { width: document.documentElement.scrollWidth, offenders };
  });
}

/** Follows a link of the main navigation. */
const nav = (p: Page, name: string) => p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name }).click();

/** Resolves when `selector` matches, and reports how long that took after `since`. */
async function appears(p: Page, selector: string, since: number, timeout = 5000): Promise<number> {
  await p.locator(selector).first().waitFor({ timeout });
  return Date.now() - since;
}

describe('dashboard', () => {
  it('signs in and shows the fleet overview', async () => {
    await page.goto(server.httpUrl);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await screenshot(page, '00-sign-in', false);
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill('wrong-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Wrong email or password.').waitFor();

    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Fleet overview' }).waitFor();
    await page.getByText('No devices yet').waitFor();
    await page.locator('.live-open').waitFor();

    // The first load fetches only the entry chunk; charts, map and admin come later, on demand.
    const scripts = await page.evaluate(() =>
      performance
        .getEntriesByType('resource')
        .map((e) => new URL(e.name).pathname)
        .filter((p) => p.endsWith('.js')),
    );
    expect(scripts).toHaveLength(1);
    const gzipped = scripts.reduce((n, p) => n + zlib.gzipSync(fs.readFileSync(path.join(WEB_DIST, p))).length, 0);
    console.log(`first-load JS: ${scripts.join(', ')} = ${(gzipped / 1024).toFixed(1)} KB gzipped`);
    expect(gzipped).toBeLessThan(500 * 1024);
  });

  it('creates a device and shows its token once, with commands filled in', async () => {
    await nav(page, 'Devices');
    await page.getByRole('heading', { name: 'Devices' }).waitFor();
    await page.getByRole('button', { name: 'Create device' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name', { exact: true }).fill('boiler-1');
    await dialog.getByLabel('Type').fill('boiler');
    await dialog.getByLabel('Tags').fill('basement, heating');
    await dialog.getByRole('button', { name: 'Create device' }).click();

    await dialog.getByTestId('device-token').waitFor();
    const id = (await dialog.getByTestId('device-id').textContent())!.trim();
    const token = (await dialog.getByTestId('device-token').textContent())!.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(token).toMatch(/^dt_/);
    device = { id, token, name: 'boiler-1' };

    // The example names the broker's real port (from GET /api/v1/server-info), here a random free one.
    const host = new URL(server.httpUrl).hostname;
    const mqttPort = new URL(server.mqttUrl).port;
    const mosquitto = (await dialog.getByTestId('mosquitto-example').textContent())!;
    expect(mqttPort).not.toBe('1883');
    expect(mosquitto).toContain(`mosquitto_pub -h ${host} -p ${mqttPort} -q 1`);
    await dialog
      .getByTestId('mqtt-ports')
      .filter({ hasText: `The broker listens on port ${mqttPort}` })
      .waitFor();
    expect(mosquitto).toContain(`-u ${id} -P ${token}`);
    expect(mosquitto).toContain(`-t devices/${id}/telemetry -m '{"temperature":21.5}'`);
    const curl = (await dialog.getByTestId('curl-example').textContent())!;
    expect(curl).toContain(`${server.httpUrl}/api/v1/device/telemetry`);
    expect(curl).toContain(`authorization: Bearer ${token}`);
    await screenshot(page, '02-create-device-token', false);

    await dialog.getByRole('link', { name: 'Open the device page' }).click();
    await page.getByRole('heading', { name: /boiler-1/ }).waitFor();
  });

  it('shows published values and the chart update live, without a reload', async () => {
    await page.getByText('No readings yet').waitFor();
    await page.getByText('No numeric telemetry in this range').waitFor();
    // The org-wide alert feed and this page's device subscription are both confirmed by the server.
    await page.locator('[data-subscriptions="2"]').waitFor();
    await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));

    mqttClient = await connectMqtt(server.mqttUrl, { username: device.id, password: device.token, protocolVersion: 4 });
    // Connecting flips the device online (a status event).
    await page
      .getByRole('heading', { name: /boiler-1/ })
      .getByText('Online')
      .waitFor();

    let t0 = Date.now();
    await publish(mqttClient, `devices/${device.id}/telemetry`, JSON.stringify({ temperature: 21.5, humidity: 40 }));
    const valueMs = await appears(page, '[data-testid="latest-temperature"]:has-text("21.5 °C")', t0);
    const chartMs = await appears(page, '[data-testid="chart-temperature"][data-points="1"]', t0);
    await appears(page, '[data-testid="chart-humidity"][data-points="1"]', t0);
    console.log(`first reading: value shown after ${valueMs} ms, chart after ${chartMs} ms`);

    t0 = Date.now();
    await publish(mqttClient, `devices/${device.id}/telemetry`, JSON.stringify({ temperature: 22.75, humidity: 41 }));
    const secondMs = await appears(page, '[data-testid="chart-temperature"][data-points="2"]', t0);
    await appears(page, '[data-testid="chart-last-temperature"]:has-text("22.75 °C")', t0);
    await appears(page, '[data-testid="latest-temperature"]:has-text("22.75 °C")', t0);
    console.log(`second reading: chart updated after ${secondMs} ms`);
    expect(secondMs).toBeLessThan(2000);

    // A short burst draws as a line.
    for (let i = 0; i < 8; i++) {
      await publish(
        mqttClient,
        `devices/${device.id}/telemetry`,
        JSON.stringify({ ts: Date.now() - (8 - i) * 20_000, values: { temperature: 20 + Math.sin(i) * 2, humidity: 40 + i } }),
      );
    }
    await appears(page, '[data-testid="chart-temperature"][data-points="10"]', Date.now());
    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);

    // The raw message history picks the messages up too.
    await page.locator('table[aria-label="Raw messages"] tbody tr').nth(9).waitFor();
  });

  it('shows an alert live, with a new-alert indicator', async () => {
    const t0 = Date.now();
    await publish(mqttClient!, `devices/${device.id}/alerts`, JSON.stringify({ message: 'Gas leakage detected', severity: 'critical', type: 'gas' }));
    const ms = await appears(page, '[data-testid="device-alerts"] .alert-item:has-text("Gas leakage detected")', t0);
    console.log(`alert shown on the device page after ${ms} ms`);
    await page.locator('[data-testid="device-alerts"] .badge-new').first().waitFor();
    await page.getByTestId('new-alerts').filter({ hasText: '1' }).waitFor();
    await page.locator('.toast:has-text("Gas leakage detected")').waitFor();

    // A location puts the device on the map; offline, the map says tiles are unavailable.
    await publish(mqttClient!, `devices/${device.id}/location`, JSON.stringify({ lat: 52.3702, lon: 4.8952, speed: 12 }));
    await page.getByTestId('location-text').filter({ hasText: '52.37020, 4.89520' }).waitFor();
    await page.locator('.leaflet-container').waitFor();
    await page.getByText('Map tiles could not be loaded').waitFor({ timeout: 15_000 });
    await publish(mqttClient!, `devices/${device.id}/heartbeat`, JSON.stringify({ uptime: 3600, battery: 87 }));
    await publish(mqttClient!, `devices/${device.id}/attributes`, JSON.stringify({ fw_version: '1.4.2', model: 'rpi4' }));
    await page.getByRole('button', { name: 'Refresh attributes' }).click();
    await page.locator('#about dt:text-is("fw_version")').waitFor();
    await page.locator('.toast').waitFor({ state: 'detached', timeout: 15_000 });
    await screenshot(page, '03-device-detail');

    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: /Alerts/ })
      .click();
    await page.getByRole('heading', { name: 'Alerts', exact: true }).waitFor();
    await page.locator('[data-testid="live-feed"] .alert-item:has-text("Gas leakage detected")').waitFor();
    // Seen: the indicator clears.
    await page.getByTestId('new-alerts').waitFor({ state: 'detached' });

    // A second alert arrives while the page is open: it tops the feed, marked new.
    const t1 = Date.now();
    await publish(mqttClient!, `devices/${device.id}/alerts`, JSON.stringify({ message: 'Pressure dropping', severity: 'warning', type: 'pressure' }));
    const ms2 = await appears(page, '[data-testid="live-feed"] .alert-item.alert-new:has-text("Pressure dropping")', t1);
    console.log(`alert shown in the live feed after ${ms2} ms`);
    await page.getByTestId('show-new-alerts').click();
    await page.locator('#history .alert-item:has-text("Pressure dropping")').waitFor();

    // Filters: severity critical leaves only the gas alert.
    await page.locator('#history').getByLabel('critical').check();
    await page.locator('#history .alert-item').filter({ hasText: 'Pressure dropping' }).waitFor({ state: 'detached' });
    await page.locator('#history .alert-item:has-text("Gas leakage detected")').waitFor();
    await page.locator('#history').getByLabel('critical').uncheck();
    await page.locator('#history .alert-item:has-text("Pressure dropping")').waitFor();
    await screenshot(page, '04-alerts');
  });

  it('shows the fleet overview with counts, message rate and devices', async () => {
    // A few more devices, one silent, so the overview and the table have something to show.
    const project = await server.api.projects.create({ name: 'Warehouse', description: 'Cold storage sensors' });
    for (const name of ['freezer-1', 'freezer-2', 'dock-door']) {
      const d = await server.api.devices.create({ name, projectId: project.id, tags: ['cold'], type: 'sensor' });
      if (name !== 'dock-door') {
        const c = await connectMqtt(server.mqttUrl, { username: d.id, password: d.token, protocolVersion: 4 });
        await publish(c, `devices/${d.id}/telemetry`, JSON.stringify({ temperature: -18.5 }));
        if (name === 'freezer-2') c.end(true);
      }
    }
    await nav(page, 'Overview');
    await page.getByRole('heading', { name: 'Fleet overview' }).waitFor();
    await page.locator('.stat:has-text("Devices") .stat-value:text-is("4")').waitFor();
    await page.getByRole('heading', { name: 'Messages per minute' }).waitFor();
    await screenshot(page, '01-overview');

    await nav(page, 'Devices');
    await page.locator('table[aria-label="Devices"] tbody tr').nth(3).waitFor();
    const row = page.locator('tr:has-text("boiler-1")');
    await row.getByText('Online').waitFor();
    await screenshot(page, '05-devices');

    // Filters: by name, then by project and status.
    await page.getByLabel('Search by name').fill('freezer');
    await page.locator('table[aria-label="Devices"] tbody tr').nth(1).waitFor();
    await page.locator('tr:has-text("boiler-1")').waitFor({ state: 'detached' });
    await page.getByLabel('Search by name').fill('');
    await page.getByLabel('Status').selectOption('online');
    await page.locator('tr:has-text("dock-door")').waitFor({ state: 'detached' });
    await page.getByLabel('Project').selectOption({ label: 'Warehouse' });
    await page.locator('tr:has-text("boiler-1")').waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.locator('tr:has-text("dock-door")').waitFor();

    await nav(page, 'Projects');
    await page.getByRole('link', { name: 'Warehouse' }).click();
    await page.getByRole('heading', { name: 'Warehouse' }).waitFor();
    await page.locator('tr:has-text("freezer-1")').waitFor();
  });

  it('lets an admin manage users and API keys', async () => {
    await nav(page, 'Admin');
    await page.getByRole('heading', { name: 'Users and roles' }).waitFor();
    await page.getByRole('button', { name: 'Create API key' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name').fill('grafana');
    await dialog.getByRole('button', { name: 'Create key' }).click();
    const key = (await dialog.getByTestId('api-key').textContent())!.trim();
    expect(key.length).toBeGreaterThan(20);
    await dialog.getByRole('button', { name: 'Done' }).click();
    await page.locator('tr:has-text("grafana")').getByText('active').waitFor();
    // Revoking asks first; Cancel keeps the key.
    await page
      .locator('tr:has-text("grafana")')
      .getByRole('button', { name: /^Revoke/ })
      .click();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('tr:has-text("grafana")').getByText('active').waitFor();
    await page
      .locator('tr:has-text("grafana")')
      .getByRole('button', { name: /^Revoke/ })
      .click();
    await dialog.getByRole('button', { name: 'Revoke key' }).click();
    await page.locator('tr:has-text("grafana")').getByText('revoked').waitFor();

    await page.getByRole('button', { name: 'Add user' }).click();
    await dialog.getByLabel('Email').fill('operator@example.com');
    await dialog.getByLabel('Name').fill('Olga Operator');
    await dialog.getByLabel('Initial password').fill('operator-password-1');
    await dialog.getByLabel('Role').selectOption('operator');
    await dialog.getByRole('button', { name: 'Add user' }).click();
    await page.locator('tr:has-text("Olga Operator")').waitFor();
    await screenshot(page, '06-admin');
  });

  it('creates a device from a template, whose units and display ranges the charts use', async () => {
    const template = await server.api.request<{ id: string }>('POST', '/api/v1/templates', {
      name: 'pump',
      description: 'Circulation pump with a status LED',
      telemetry: [
        { name: 'pressure', unit: 'bar', min: 0, max: 10 },
        { name: 'flow', unit: 'l/min' },
      ],
      commands: [
        {
          name: 'led',
          description: 'Sets the status LED.',
          params: {
            type: 'object',
            required: ['color'],
            properties: {
              color: { enum: ['red', 'green', 'blue'] },
              on: { type: 'boolean', default: true },
              brightness: { type: 'integer', minimum: 0, maximum: 100, default: 50, description: 'Percent' },
            },
          },
        },
        { name: 'buzzer', params: { type: 'object', properties: { durationMs: { type: 'integer', minimum: 10, maximum: 10_000 } } } },
        { name: 'reset', description: 'Restarts the controller; uptime starts again from 0.' },
      ],
    });
    templateId = template.id;

    await nav(page, 'Devices');
    await page.getByRole('heading', { name: 'Devices' }).waitFor();
    await page.getByRole('button', { name: 'Create device' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name', { exact: true }).fill('pump-1');
    await dialog.getByLabel('Project').selectOption({ label: 'Warehouse' });
    await dialog.getByLabel('Template').selectOption({ label: 'pump' });
    await dialog.getByRole('button', { name: 'Create device' }).click();
    await dialog.getByTestId('device-token').waitFor();
    pump = { id: (await dialog.getByTestId('device-id').textContent())!.trim(), token: (await dialog.getByTestId('device-token').textContent())!.trim() };
    await dialog.getByRole('link', { name: 'Open the device page' }).click();
    await page.getByRole('heading', { name: /pump-1/ }).waitFor();
    await page.locator('#about dd:text-is("pump")').waitFor();
    await page.locator('[data-subscriptions="2"]').waitFor();
    await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));

    pumpClient = await DeviceClient.connect({ url: server.mqttUrl, deviceId: pump.id, token: pump.token, reconnect: false });
    await pumpClient.onCommand((c) => {
      commandsSeen.push(c);
      return { ok: true, applied: c.params };
    });
    await pumpClient.onConfig((c) => configsSeen.push(c));
    await pumpClient.sendTelemetry({ pressure: 2.5, flow: 12 });

    await page.locator('[data-testid="latest-pressure"]:has-text("2.5 bar")').waitFor();
    await page.locator('[data-testid="latest-flow"]:has-text("12 l/min")').waitFor();
    const chart = page.locator('[data-testid="chart-pressure"][data-points="1"][data-range="0..10"]');
    await chart.waitFor();
    expect(await chart.locator('figcaption').textContent()).toMatch(/pressure \(bar\) · range 0 – 10/);
    await page.locator('[data-testid="chart-flow"] figcaption:has-text("(l/min)")').waitFor();
    // 2.5 bar sits low on an axis drawn from 0 to 10, the template's display range.
    await panelScreenshot(page.getByTestId('chart-pressure'), '25-template-range-chart');
    expect(await page.getByTestId('latest-pressure').getAttribute('class')).not.toContain('latest-out-of-range');

    // The range is advisory: a reading outside it is stored as sent, and flagged.
    await pumpClient.sendTelemetry({ pressure: 12.5 });
    await page.locator('[data-testid="latest-pressure"]:has-text("12.5 bar")').waitFor();
    await page.locator('[data-testid="latest-pressure"] .latest-range-note:has-text("Above the expected range")').waitFor();
    expect((await server.api.devices.latest(pump.id)).values.pressure?.value).toBe(12.5);
    await panelScreenshot(page.locator('#latest'), '27-out-of-range-reading');
  });

  it('sends a template command to a device on the SDK and shows it succeed live, with its result', async () => {
    const panel = page.locator('#commands');
    await panel.getByText('From template “pump”').waitFor();
    const command = panel.getByLabel('Command', { exact: true });
    expect(await command.locator('option').allTextContents()).toEqual(['led', 'buzzer', 'reset']);
    await panel.getByText('Sets the status LED.').waitFor();

    // The params form comes from the JSON Schema; the browser catches what the server would refuse.
    await panel.getByLabel('color').selectOption({ label: 'green' });
    expect(await panel.getByLabel('on', { exact: true }).isChecked()).toBe(true);
    await panel.getByLabel('brightness').fill('150');
    await panel.getByRole('button', { name: 'Send command' }).click();
    await panel.locator('[data-param="brightness"] .field-error:text-is("At most 100.")').waitFor();
    expect(commandsSeen).toHaveLength(0);

    await panel.getByLabel('brightness').fill('80');
    await panel.getByLabel('Timeout (s)').fill('5');
    const t0 = Date.now();
    await panel.getByRole('button', { name: 'Send command' }).click();
    const row = panel.locator('tr[data-status="succeeded"]').filter({ hasText: 'led' });
    await row.waitFor();
    console.log(`command led: succeeded on screen after ${Date.now() - t0} ms`);
    expect(commandsSeen).toHaveLength(1);
    expect(commandsSeen[0]).toMatchObject({ name: 'led', params: { color: 'green', on: true, brightness: 80 } });
    const result = (await row.getByTestId('command-result').textContent())!;
    expect(JSON.parse(result)).toEqual({ ok: true, applied: { color: 'green', on: true, brightness: 80 } });
    await panel.getByTestId('last-command').locator('.cmd-succeeded').waitFor();
    // Live: the page was never reloaded, and the answer came over the socket (the POST answers before the device does).
    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    const [stored] = (
      await server.api.request<{ items: { status: string; timeoutMs: number; completedAt: string | null }[] }>('GET', `/api/v1/devices/${pump.id}/commands`)
    ).items;
    expect(stored).toMatchObject({ status: 'succeeded', timeoutMs: 5000 });

    // The template changed after the page loaded: the server's refusal is shown where the command was sent.
    await server.api.request('PATCH', `/api/v1/templates/${templateId}`, {
      commands: [{ name: 'led', params: { type: 'object', properties: { color: { enum: ['red', 'green', 'blue'] } } } }, { name: 'reset' }],
    });
    await command.selectOption('buzzer');
    await panel.getByLabel('durationMs').fill('200');
    await panel.getByRole('button', { name: 'Send command' }).click();
    await panel.getByTestId('command-error').filter({ hasText: 'template "pump" has no command "buzzer"; it accepts: led, reset' }).waitFor();
    expect(commandsSeen).toHaveLength(1);
    await command.selectOption('reset');
    await panel.getByText('The template defines no parameters for reset').waitFor();
    await panelScreenshot(panel, '15-commands');
  });

  it('cancels a queued command for a device that is not listening', async () => {
    await nav(page, 'Devices');
    await page.getByRole('link', { name: 'boiler-1' }).click();
    const panel = page.locator('#commands');
    // No template: any name, with suggestions, and params as JSON.
    const name = panel.getByLabel('Command', { exact: true });
    // evaluateAll does not wait: let the panel render its suggestions first.
    await panel.locator('datalist option').first().waitFor({ state: 'attached' });
    expect(await panel.locator('datalist option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))).toEqual([
      'reset',
      'reboot',
      'buzzer',
      'led',
      'servo',
    ]);
    await name.fill('reboot');
    const params = panel.getByLabel('As a JSON object (optional)');
    await params.fill('{delayMs: 500}');
    await panel.locator('.field-error:has-text("Not valid JSON")').waitFor();
    expect(await panel.getByRole('button', { name: 'Send command' }).isDisabled()).toBe(true);
    await params.fill('{"delayMs": 500}');
    await panel.getByRole('button', { name: 'Send command' }).click();
    // boiler-1's MQTT client never subscribed to its commands: the command waits, queued.
    const queued = panel.locator('tr[data-status="queued"]').filter({ hasText: 'reboot' });
    await queued.waitFor();
    await queued.getByText('{"delayMs":500}').waitFor();
    await queued.getByRole('button', { name: 'Cancel reboot' }).click();
    await panel.locator('tr[data-status="cancelled"]').filter({ hasText: 'reboot' }).waitFor();
    expect(await panel.getByRole('button', { name: 'Cancel reboot' }).count()).toBe(0);
  });

  it('shows where each configuration value comes from, and overrides an org value on one device', async () => {
    await server.api.request('PUT', '/api/v1/org/config/reportIntervalMs', { value: 10_000 });
    await nav(page, 'Devices');
    await page.getByRole('link', { name: 'pump-1' }).click();
    const config = page.locator('#config');
    const row = config.locator('tr[data-config-key="reportIntervalMs"]');
    await row.getByTestId('config-source').filter({ hasText: 'org' }).waitFor();

    await row.getByRole('button', { name: 'Override reportIntervalMs' }).click();
    const value = config.getByLabel('Value (JSON)');
    expect(await value.inputValue()).toBe('10000');
    expect(await value.evaluate((el) => el === document.activeElement)).toBe(true);
    await value.fill('fast');
    await config.getByRole('button', { name: 'Set on device' }).click();
    await config.getByTestId('config-status').filter({ hasText: 'Text needs double quotes: "fast".' }).waitFor();
    await value.fill('2000');
    await config.getByRole('button', { name: 'Set on device' }).click();
    await row.getByTestId('config-source').filter({ hasText: 'device' }).waitFor();
    await row.locator('code:text-is("2000")').waitFor();
    // The device is sent its resolved configuration at once.
    await expect.poll(() => configsSeen.at(-1)?.reportIntervalMs, { timeout: 2000 }).toBe(2000);

    // Removing the device's value lets the org's show through again.
    await row.getByRole('button', { name: 'Remove override reportIntervalMs' }).click();
    await row.getByTestId('config-source').filter({ hasText: 'org' }).waitFor();
    await row.locator('code:text-is("10000")').waitFor();
    await expect.poll(() => configsSeen.at(-1)?.reportIntervalMs, { timeout: 2000 }).toBe(10_000);

    // A project value, set on the project page, sits between the two.
    await nav(page, 'Projects');
    await page.getByRole('link', { name: 'Warehouse' }).click();
    const projectConfig = page.locator('#project-config');
    await projectConfig.getByLabel('Key').fill('mode');
    await projectConfig.getByLabel('Value (JSON)').fill('"eco"');
    await projectConfig.getByRole('button', { name: 'Set on project' }).click();
    await projectConfig.locator('tr[data-config-key="mode"] code:text-is("\\"eco\\"")').waitFor();
    // The org's values are edited on the admin page.
    await nav(page, 'Admin');
    await page.locator('#org-config tr[data-config-key="reportIntervalMs"] code:text-is("10000")').waitFor();

    await nav(page, 'Devices');
    await page.getByRole('link', { name: 'pump-1' }).click();
    await page.getByRole('heading', { name: /pump-1/ }).waitFor();
    await config.locator('tr[data-config-key="mode"]').getByTestId('config-source').filter({ hasText: 'project' }).waitFor();
    await config.getByLabel('Key').fill('calibration');
    await config.getByLabel('Value (JSON)').fill('{"pressureOffset": -0.2}');
    await config.getByRole('button', { name: 'Set on device' }).click();
    await config.locator('tr[data-config-key="calibration"]').getByTestId('config-source').filter({ hasText: 'device' }).waitFor();
    await expect.poll(() => configsSeen.at(-1), { timeout: 2000 }).toEqual({ reportIntervalMs: 10_000, mode: 'eco', calibration: { pressureOffset: -0.2 } });
    await panelScreenshot(config, '16-configuration');
  });

  it('adds properties and notes, and finds the device by property', async () => {
    const props = page.locator('#properties');
    await props.getByText('No properties').waitFor();
    for (const [name, value] of [
      ['serial', 'SN-1234'],
      ['installer', 'ACME Heating'],
    ]) {
      await props.getByLabel('Name').fill(name!);
      await props.getByLabel('Value').fill(value!);
      await props.getByRole('button', { name: 'Save property' }).click();
      await props.locator(`[data-property="${name}"]`).getByText(value!).waitFor();
    }

    const notes = page.locator('#notes');
    await notes.getByText('No notes yet').waitFor();
    await notes.getByLabel('New note').fill('Installed in the pump room, loop 2.');
    await notes.getByRole('button', { name: 'Add note' }).click();
    await notes.getByTestId('note').filter({ hasText: 'Installed in the pump room' }).waitFor();
    await notes.getByLabel('New note').fill('Replaced the pressure sensor; earlier readings are 0.2 bar high.');
    await notes.getByLabel('About').selectOption('pressure');
    await notes.getByRole('button', { name: 'Add note' }).click();
    const streamNote = notes.getByTestId('note').filter({ hasText: 'Replaced the pressure sensor' });
    await streamNote.getByText('on pressure').waitFor();
    // A note can be deleted by its author.
    await notes.getByLabel('New note').fill('typo');
    await notes.getByRole('button', { name: 'Add note' }).click();
    const typo = notes.getByTestId('note').filter({ has: page.locator('.note-body:text-is("typo")') });
    await typo.getByRole('button', { name: /^Delete/ }).click();
    await typo.waitFor({ state: 'detached' });
    expect(await notes.getByTestId('note').count()).toBe(2);
    const stored = await server.api.request<{ items: { streamKey: string | null; kind: string }[] }>('GET', `/api/v1/devices/${pump.id}/notes`);
    expect(stored.items.map((n) => [n.kind, n.streamKey])).toEqual([
      ['stream', 'pressure'],
      ['device', null],
    ]);
    await panelScreenshot(page.locator('.grid-2').filter({ has: page.locator('#notes') }), '17-properties-notes');

    // The property search on the devices page finds it by a value prefix.
    await nav(page, 'Devices');
    const search = page.locator('#property-search');
    // Folded away until wanted.
    expect(await search.getByLabel('Property name').isVisible()).toBe(false);
    await search.getByText('Find by property').click();
    await search.getByLabel('Property name').fill('serial');
    await search.getByLabel('Value').fill('SN-*');
    await search.getByRole('button', { name: 'Search' }).click();
    const match = search.getByTestId('property-matches').getByRole('link', { name: 'pump-1' });
    await match.waitFor();
    await search.getByText('SN-1234').waitFor();
    expect(new URL(page.url()).search).toBe('?prop=serial&pvalue=SN-*');
    await screenshot(page, '18-property-search', false);
    await match.click();
    await page.getByRole('heading', { name: /pump-1/ }).waitFor();
  });

  it('uploads a device photo and shows it', async () => {
    const about = page.locator('#about');
    await about.getByText('No photo').waitFor();
    const input = about.locator('input[type="file"]');
    await input.setInputFiles({ name: 'huge.png', mimeType: 'image/png', buffer: Buffer.alloc(6 * 1024 * 1024) });
    await about.getByTestId('photo-error').filter({ hasText: 'The image is 6.0 MB; the limit is 5 MB.' }).waitFor();

    await input.setInputFiles({ name: 'pump.png', mimeType: 'image/png', buffer: pngImage(240, 160, [15, 118, 110]) });
    const img = about.getByTestId('device-photo');
    await img.waitFor();
    await page.waitForFunction(() => (document.querySelector('[data-testid="device-photo"]') as HTMLImageElement | null)?.naturalWidth === 240);
    expect(await img.getAttribute('alt')).toBe('Photo of pump-1');
    expect(await about.getByTestId('photo-error').textContent()).toBe('');
    const d = await server.api.devices.get(pump.id);
    expect(d.photoUrl).toBe(`/api/v1/devices/${pump.id}/photo`);
    await about.getByText('Replace photo').waitFor();
    await panelScreenshot(about, '19-device-photo');
  });

  it('keeps a viewer from deleting or editing a device', async () => {
    await server.api.users.create({ ...VIEWER, name: 'Vic Viewer', role: 'viewer' });
    const viewerContext = await browser.newContext(CONTEXT);
    const viewerPage = await viewerContext.newPage();
    await signIn(viewerPage, server.httpUrl, VIEWER.email, VIEWER.password, `/devices/${device.id}`);
    await viewerPage.getByRole('heading', { name: /boiler-1/ }).waitFor();
    await viewerPage.getByTestId('read-only-note').waitFor();
    await viewerPage.getByTestId('latest-temperature').waitFor();
    expect(await viewerPage.getByRole('button', { name: /delete/i }).count()).toBe(0);
    expect(await viewerPage.getByRole('button', { name: /rotate/i }).count()).toBe(0);
    expect(await viewerPage.getByRole('button', { name: /save changes/i }).count()).toBe(0);
    expect(await viewerPage.getByRole('link', { name: 'Admin' }).count()).toBe(0);
    await nav(viewerPage, 'Devices');
    await viewerPage.locator('tr:has-text("boiler-1")').waitFor();
    expect(await viewerPage.getByRole('button', { name: 'Create device' }).count()).toBe(0);

    // Commands, configuration, properties and notes: a viewer reads them all and changes none.
    await viewerPage.goto(`${server.httpUrl}/devices/${pump.id}`);
    await viewerPage.getByRole('heading', { name: /pump-1/ }).waitFor();
    await viewerPage.getByTestId('commands-read-only').waitFor();
    await viewerPage.locator('#commands tr[data-status="succeeded"]').first().waitFor();
    await viewerPage.getByTestId('config-read-only').waitFor();
    await viewerPage.locator('#config tr[data-config-key="calibration"]').waitFor();
    await viewerPage.locator('[data-property="serial"]').waitFor();
    await viewerPage.getByTestId('note').first().waitFor();
    await viewerPage.getByTestId('device-photo').waitFor();
    for (const name of ['Send command', /^Set on/, /^Override/, /^Remove/, 'Save property', 'Add note', /delete/i, /^Edit/]) {
      expect(await viewerPage.getByRole('button', { name }).count(), `button ${name}`).toBe(0);
    }
    expect(await viewerPage.locator('input[type="file"]').count()).toBe(0);

    // The server enforces it too.
    const viewerApi = new TetherClient({ baseUrl: server.httpUrl });
    await viewerApi.login(VIEWER.email, VIEWER.password);
    for (const attempt of [
      () => viewerApi.devices.delete(device.id),
      () => viewerApi.request('POST', `/api/v1/devices/${pump.id}/commands`, { name: 'reset' }),
      () => viewerApi.request('PUT', `/api/v1/devices/${pump.id}/config/mode`, { value: 'boost' }),
    ]) {
      const refused = await attempt().catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ApiError);
      expect((refused as ApiError).status).toBe(403);
    }
    await viewerContext.close();
  });

  it('lays out at phone width', async () => {
    const phone = await browser.newContext(PHONE);
    const p = await phone.newPage();
    await signIn(p, server.httpUrl, ADMIN.email, ADMIN.password, '/devices');
    await p.locator('table[aria-label="Devices"] tbody tr').nth(3).waitFor();
    // No horizontal scrolling.
    let o = await overflow(p);
    expect(o.width, `sticking out: ${o.offenders.join(', ')}`).toBe(390);
    await screenshot(p, '07-phone-devices');
    await p.getByRole('button', { name: 'Menu' }).click();
    await p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Overview' }).waitFor();
    await screenshot(p, '08-phone-menu', false);
    await p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Devices' }).click();
    await p.getByRole('link', { name: 'boiler-1' }).click();
    await p.locator('[data-testid="chart-temperature"]').waitFor();
    o = await overflow(p);
    expect(o.width, `sticking out: ${o.offenders.join(', ')}`).toBe(390);
    await screenshot(p, '09-phone-device', false);
    await p.locator('#telemetry').scrollIntoViewIfNeeded();
    await screenshot(p, '10-phone-telemetry', false);
    await p.locator('#messages').scrollIntoViewIfNeeded();
    await screenshot(p, '11-phone-messages', false);

    // The new panels on a device with everything: commands, configuration, properties, notes, a photo.
    await p.goto(`${server.httpUrl}/devices/${pump.id}`);
    await p.locator('#commands tr[data-status="succeeded"]').first().waitFor();
    await p.locator('#config tr[data-config-key="calibration"]').waitFor();
    await p.getByTestId('note').first().waitFor();
    await p.getByTestId('device-photo').waitFor();
    o = await overflow(p);
    expect(o.width, `sticking out: ${o.offenders.join(', ')}`).toBe(390);
    await panelScreenshot(p.locator('#commands'), '20-phone-commands');
    await panelScreenshot(p.locator('#config'), '21-phone-configuration');
    await panelScreenshot(p.locator('#notes'), '22-phone-notes');
    await p.goto(`${server.httpUrl}/devices?prop=installer&pvalue=ACME*`);
    await p.getByTestId('property-matches').getByRole('link', { name: 'pump-1' }).waitFor();
    o = await overflow(p);
    expect(o.width, `sticking out: ${o.offenders.join(', ')}`).toBe(390);
    await phone.close();
  });

  it('renders in dark mode', async () => {
    const dark = await browser.newContext({ ...CONTEXT, colorScheme: 'dark' });
    const p = await dark.newPage();
    await signIn(p, server.httpUrl, ADMIN.email, ADMIN.password, `/devices/${device.id}`);
    await p.locator('[data-testid="chart-temperature"]').waitFor();
    await p.getByText('Map tiles could not be loaded').waitFor({ timeout: 15_000 });
    await screenshot(p, '14-dark-device', false);
    await p.goto(`${server.httpUrl}/devices/${pump.id}`);
    await p.locator('#commands tr[data-status="succeeded"]').first().waitFor();
    await p.locator('#config tr[data-config-key="calibration"]').waitFor();
    await panelScreenshot(p.locator('#commands'), '23-dark-commands');
    await panelScreenshot(p.locator('#config'), '24-dark-configuration');
    await dark.close();
  });

  it('shows "reconnecting" when the live socket drops, and resumes by itself', async () => {
    const ctx = await browser.newContext(CONTEXT);
    const p = await ctx.newPage();
    const routes: WebSocketRoute[] = [];
    let refuse = false;
    await p.routeWebSocket(/\/api\/v1\/live/, (ws) => {
      if (refuse) return ws.close();
      ws.connectToServer();
      routes.push(ws);
    });
    await signIn(p, server.httpUrl, ADMIN.email, ADMIN.password, `/devices/${device.id}`);
    await p.locator('[data-subscriptions="2"]').waitFor();

    refuse = true;
    await routes[routes.length - 1]!.close();
    await p.getByText('Live connection lost — reconnecting…').waitFor();
    await p.locator('.live-reconnecting').waitFor();
    await screenshot(p, '12-reconnecting', false);

    refuse = false;
    await p.locator('.live-open').waitFor({ timeout: 20_000 });
    await p.getByText('Live connection lost').waitFor({ state: 'detached' });
    await p.locator('[data-subscriptions="2"]').waitFor();
    const t0 = Date.now();
    await publish(mqttClient!, `devices/${device.id}/telemetry`, JSON.stringify({ temperature: 30.25 }));
    await appears(p, '[data-testid="latest-temperature"]:has-text("30.25 °C")', t0);
    await ctx.close();
  });

  it('refreshes tokens transparently, and returns an expired session to sign-in with a message', async () => {
    // The main page has been open for far longer than the 10 s access-token lifetime.
    await nav(page, 'Devices');
    await page.locator('tr:has-text("boiler-1")').waitFor();

    await page.evaluate(() => {
      const s = JSON.parse(localStorage.getItem('tether.session')!) as { refreshToken: string };
      s.refreshToken = 'rt_revoked';
      localStorage.setItem('tether.session', JSON.stringify(s));
    });
    await page.reload();
    await page.getByRole('heading', { name: 'Devices' }).waitFor();
    // Within one access-token lifetime the refresh fails, and sign-in explains why.
    await page.getByRole('heading', { name: 'Sign in' }).waitFor({ timeout: 20_000 });
    await page.getByText('Your session has expired. Please sign in again.').waitFor();
    await screenshot(page, '13-session-expired', false);
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('tr:has-text("boiler-1")').waitFor();
  });

  it('pages the raw message history of a one-millisecond burst without skipping any', async () => {
    const d = await server.api.devices.create({ name: 'burst-1' });
    const c = await connectMqtt(server.mqttUrl, { username: d.id, password: d.token });
    // 60 messages without ts in flight at once: many share a millisecond, each its own row.
    await Promise.all(Array.from({ length: 60 }, (_, i) => publish(c, `devices/${d.id}/telemetry`, JSON.stringify({ seq: i + 1 }))));
    c.end(true);
    await page.goto(`${server.httpUrl}/devices/${d.id}`);
    const rows = page.locator('table[aria-label="Raw messages"] tbody tr');
    await rows.nth(49).waitFor();
    expect(await rows.count()).toBe(50);
    await page.getByRole('button', { name: 'Load older messages' }).click();
    await rows.nth(59).waitFor();
    await expect.poll(() => page.getByRole('button', { name: 'Load older messages' }).count()).toBe(0);
    const seqs = (await page.locator('table[aria-label="Raw messages"] tbody tr td[data-label="Payload"]').allTextContents()).map(
      (t) => (JSON.parse(t) as { seq: number }).seq,
    );
    expect(seqs.sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
  });

  it('serves security headers, and the API docs pass the same Content-Security-Policy', async () => {
    const res = await page.request.get(`${server.httpUrl}/`);
    const csp = res.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self';");
    expect(csp).not.toContain('upgrade-insecure-requests');
    expect(res.headers()['x-content-type-options']).toBe('nosniff');
    expect(res.headers()['x-frame-options']).toBe('SAMEORIGIN');
    const api = await page.request.get(`${server.httpUrl}/api/v1/server-info`);
    expect(api.headers()['content-security-policy']).toBe(csp);
    // Swagger UI's pages allow inline styles (it adds <style> elements), nothing else.
    const docs = await page.request.get(`${server.httpUrl}/api/docs/static/index.html`);
    expect(docs.headers()['content-security-policy']).toBe(csp.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'"));
    await page.goto(`${server.httpUrl}/api/docs`);
    await page.getByText('Tether API').first().waitFor();
    await page.locator('.opblock').first().waitFor();
    await screenshot(page, '26-api-docs', false);
  });

  it('logged no errors in the browser (CSP violations included)', () => {
    expect(errors).toEqual([]);
  });
});
