/**
 * Alarms in a real browser against the real server (issue 13's UI): a webhook
 * target made in Admin (pointing at a receiver this test runs, signature
 * checked), a device and a threshold rule made through the forms, telemetry
 * published with a real MQTT client, and the alarm seen raised, acknowledged
 * and cleared live (list, header counts, device page), with its history.
 * Screenshots land in e2e/screenshots/alarms-*.png.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { MqttClient } from 'mqtt';
import { ADMIN, connectMqtt, publish, startServer, until, type TestServer } from '../../server/test/helpers.js';
import { CONTEXT, launchBrowser, panelScreenshot, screenshot, signIn, watchErrors } from './browser.js';

interface Hook {
  headers: http.IncomingHttpHeaders;
  body: string;
}

const VIEWER = { email: 'alarm-viewer@example.com', password: 'viewer-password-1' };

let server: TestServer;
let receiver: http.Server;
let receiverUrl: string;
const hooks: Hook[] = [];
let browser: Browser;
let context: BrowserContext;
let page: Page;
let errors: string[];
let secret: string;
let device: { id: string; token: string };
let mqttClient: MqttClient | undefined;

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      hooks.push({ headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/tether`;
  server = await startServer();
  browser = await launchBrowser();
  context = await browser.newContext(CONTEXT);
  page = await context.newPage();
  errors = await watchErrors(page);
});

afterAll(async () => {
  mqttClient?.end(true);
  await browser?.close();
  await server?.close();
  receiver?.closeAllConnections();
  await new Promise((r) => receiver?.close(r));
});

const nav = (p: Page, name: string) => p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();

/** The webhooks of one event, each checked against the target's secret. */
function hooksOf(event: string): { body: Record<string, unknown> }[] {
  return hooks
    .filter((h) => h.headers['x-tether-event'] === event)
    .map((h) => {
      const ts = String(h.headers['x-tether-timestamp']);
      const expected = `sha256=${createHmac('sha256', secret).update(`${ts}.${h.body}`).digest('hex')}`;
      expect(h.headers['x-tether-signature'], 'signature').toBe(expected);
      return { body: JSON.parse(h.body) as Record<string, unknown> };
    });
}

/** Marks the document, to prove later that nothing reloaded it. */
const markDocument = (p: Page) => p.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));
const sameDocument = (p: Page) => p.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument === true);

describe('alarms', () => {
  it('makes a webhook target in Admin, shows its secret once, and sends a signed test', async () => {
    await signIn(page, server.httpUrl, ADMIN.email, ADMIN.password, '/admin');
    const panel = page.locator('#notification-targets');
    await panel.getByText('No notification targets').waitFor();
    await panel.getByRole('button', { name: 'Add target' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name').fill('on-call webhook');
    await dialog.getByLabel('URL').fill(receiverUrl);
    await dialog.getByRole('button', { name: 'Create target' }).click();
    await dialog.getByTestId('webhook-secret').waitFor();
    secret = (await dialog.getByTestId('webhook-secret').textContent())!.trim();
    expect(secret.length).toBeGreaterThanOrEqual(32);
    await dialog.getByText('X-Tether-Signature').waitFor();
    await screenshot(page, 'alarms-01-webhook-secret', false);
    await dialog.getByRole('button', { name: 'Done' }).click();

    const row = panel.getByRole('row', { name: /on-call webhook/ });
    await row.getByText(receiverUrl).waitFor();
    await row.getByRole('button', { name: /Send test/ }).click();
    await panel.getByText('Test sent to “on-call webhook”').waitFor();
    await until(() => hooks.length === 1, 10_000);
    expect(hooksOf('test')).toHaveLength(1);
    // The log reads again a moment after a test is queued: it shows the delivery done, with the receiver's 200.
    const log = page.getByTestId('delivery-log');
    await log.locator('tr[data-status="delivered"]').getByText('200', { exact: true }).waitFor({ timeout: 10_000 });
    await panelScreenshot(page.locator('#deliveries'), 'alarms-02-delivery-log');
  });

  it('creates a device and a threshold rule through the forms, showing the server’s refusal of an unknown key', async () => {
    await nav(page, 'Devices');
    await page.getByRole('button', { name: 'Create device' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name', { exact: true }).fill('boiler-7');
    await dialog.getByRole('button', { name: 'Create device' }).click();
    await dialog.getByTestId('device-token').waitFor();
    device = { id: (await dialog.getByTestId('device-id').textContent())!.trim(), token: (await dialog.getByTestId('device-token').textContent())!.trim() };
    await dialog.getByRole('button', { name: 'Close' }).click();

    // A rule must watch a key some device reports: the boiler reports its temperature once, at 20 °C.
    mqttClient = await connectMqtt(server.mqttUrl, { username: device.id, password: device.token });
    await publish(mqttClient, `devices/${device.id}/telemetry`, JSON.stringify({ temperature: 20 }));
    // A little history for the form's preview: over 80 twice, each time back under 75.
    for (const t of [85, 70, 88, 72]) await publish(mqttClient, `devices/${device.id}/telemetry`, JSON.stringify({ temperature: t }));
    await until(async () => (await server.api.devices.latest(device.id)).values.temperature?.value === 72, 10_000);

    await nav(page, 'Alarms');
    await page.getByRole('heading', { name: 'Alarms', level: 1 }).waitFor();
    await page.getByRole('tab', { name: 'Rules' }).click();
    await page.getByText('No rules yet').waitFor();
    await page.getByRole('button', { name: 'New rule' }).click();
    const form = page.getByRole('form', { name: 'New rule' });
    await form.getByLabel('Name').fill('Boiler overheating');
    await form.getByLabel('Severity').selectOption('critical');
    await form.getByLabel('Telemetry key').fill('temprature');
    await form.getByLabel('Raise when the value is: value').fill('80');
    await form.getByLabel(/Clear on its own condition/).check();
    await form.getByLabel('Clear when the value is: value').fill('75');
    await form.getByLabel('Message').fill('{{device.name}} temperature {{value}} °C');
    await form.getByRole('checkbox', { name: /on-call webhook/ }).check();
    await form.getByTestId('rule-preview').getByText('temprature > 80, clears < 75').waitFor();
    await form.getByRole('button', { name: 'Create rule' }).click();
    await form
      .getByTestId('rule-error')
      .getByText(/RULE_UNKNOWN_KEY: .*"temprature".*known keys: temperature/)
      .waitFor();
    await screenshot(page, 'alarms-03-rule-form-error', false);

    await form.getByLabel('Telemetry key').fill('temperature');
    // "Would have fired 2 times": the rule replayed over the boiler's last 24 h before it is saved.
    await form.getByRole('button', { name: 'Replay the last 24 h' }).click();
    await form
      .getByTestId('rule-try-result')
      .getByText(/Would have fired 2 times over 5 values/)
      .waitFor();
    await screenshot(page, 'alarms-03b-rule-preview', false);
    await form.getByRole('button', { name: 'Create rule' }).click();
    await form.waitFor({ state: 'detached' });
    const rule = page.getByRole('row', { name: /Boiler overheating/ });
    await rule.getByText('temperature > 80, clears < 75').waitFor();
    await rule.getByText('on-call webhook').waitFor();
    await rule.getByText('whole org').waitFor();
    await screenshot(page, 'alarms-04-rules', false);
  });

  it('shows the alarm raised live, with the header count, and sends the signed webhook', async () => {
    await page.getByRole('tab', { name: /Alarms/ }).click();
    await page.getByText('No open alarms').waitFor();
    // The org-wide subscription (alerts and alarms) is confirmed by the server.
    await page.locator('[data-subscriptions="1"]').waitFor();
    await expect(page.getByTestId('alarm-counts').count()).resolves.toBe(0);
    await markDocument(page);

    const t0 = Date.now();
    await publish(mqttClient!, `devices/${device.id}/telemetry`, JSON.stringify({ temperature: 85 }));
    const row = page.locator('tr.alarm-row');
    await row.getByText('boiler-7 temperature 85 °C').waitFor({ timeout: 10_000 });
    await page.getByTestId('alarm-counts').getByRole('link', { name: '1 critical' }).waitFor({ timeout: 10_000 });
    console.log(`publish → alarm row and header count in the browser: ${Date.now() - t0} ms`);
    expect(await sameDocument(page)).toBe(true);
    await expect(row.count()).resolves.toBe(1);
    await row.getByText('Active').waitFor();
    await row.getByRole('link', { name: 'boiler-7' }).waitFor();
    await row.getByText('Boiler overheating', { exact: true }).waitFor();

    await until(() => hooks.some((h) => h.headers['x-tether-event'] === 'alarm.raised'), 10_000);
    expect(hooksOf('alarm.raised')).toHaveLength(1);
    const raised = hooksOf('alarm.raised')[0]!.body;
    expect(raised).toMatchObject({ event: 'alarm.raised', alarm: { severity: 'critical', message: 'boiler-7 temperature 85 °C' } });
    await screenshot(page, 'alarms-05-raised-live', false);
  });

  it('acknowledges from the list, and shows it cleared live when the temperature falls below the clear level', async () => {
    const row = page.locator('tr.alarm-row');
    await row.getByRole('button', { name: /^Acknowledge/ }).click();
    await row.getByText('Acknowledged').waitFor();
    await expect(row.getByRole('button', { name: /^Acknowledge/ }).count()).resolves.toBe(0);

    // 78 is below the raise level but not below the clear level (hysteresis): the alarm stays open.
    await publish(mqttClient!, `devices/${device.id}/telemetry`, JSON.stringify({ temperature: 78 }));
    await page.waitForTimeout(1000);
    await row.getByText('Acknowledged').waitFor();
    await publish(mqttClient!, `devices/${device.id}/telemetry`, JSON.stringify({ temperature: 70 }));
    await page.getByText('No open alarms').waitFor({ timeout: 10_000 });
    await page.getByTestId('alarm-counts').waitFor({ state: 'detached', timeout: 10_000 });
    expect(await sameDocument(page)).toBe(true);

    await page.getByRole('combobox', { name: /^State/ }).selectOption('all');
    await row.getByText('Cleared', { exact: true }).waitFor();
    await row.getByRole('button', { name: /^History/ }).click();
    const history = page.getByTestId('alarm-history');
    await history.getByText('Tether raised').waitFor();
    const me = await server.api.me();
    await history.getByText(`${(me.kind === 'user' && me.name) || ADMIN.email} acknowledged`).waitFor();
    await history.getByText(/^Tether cleared/).waitFor();
    const actions = await history.locator('li').evaluateAll((items) => items.map((li) => li.className.replace('alarm-history-item alarm-history-', '')));
    expect(actions).toEqual(['raised', 'acknowledged', 'cleared']);

    await page.getByLabel('Comment', { exact: true }).fill('Burner valve replaced');
    await page.getByRole('button', { name: 'Add comment' }).click();
    await history.getByText('Burner valve replaced').waitFor();
    await until(() => hooks.some((h) => h.headers['x-tether-event'] === 'alarm.cleared'), 10_000);
    expect(hooksOf('alarm.cleared')).toHaveLength(1);
    await screenshot(page, 'alarms-06-cleared-history', false);
    expect(await sameDocument(page)).toBe(true);
  });

  it('lists a device’s open alarms on its page, live, and hides Acknowledge and Clear from a viewer', async () => {
    await page.goto(`${server.httpUrl}/devices/${device.id}`);
    const panel = page.locator('#alarms');
    await panel.getByTestId('device-alarms-empty').waitFor();
    await page.locator('[data-subscriptions="2"]').waitFor();
    await publish(mqttClient!, `devices/${device.id}/telemetry`, JSON.stringify({ temperature: 91 }));
    const row = panel.locator('tr.alarm-row');
    await row.getByText('boiler-7 temperature 91 °C').waitFor({ timeout: 10_000 });
    await page.getByTestId('alarm-counts').getByRole('link', { name: '1 critical' }).waitFor();
    await panelScreenshot(panel, 'alarms-07-device-panel');

    await server.api.users.create({ ...VIEWER, name: 'Vera Viewer', role: 'viewer' });
    const viewerContext = await browser.newContext(CONTEXT);
    const viewer = await viewerContext.newPage();
    const viewerErrors = await watchErrors(viewer);
    await signIn(viewer, server.httpUrl, VIEWER.email, VIEWER.password, '/alarms');
    const viewerRow = viewer.locator('tr.alarm-row');
    await viewerRow.getByText('boiler-7 temperature 91 °C').waitFor();
    await viewerRow.getByRole('button', { name: /^History/ }).click();
    await viewer.getByTestId('alarm-history').getByText('Tether raised').waitFor();
    await expect(viewer.getByRole('button', { name: /^(Acknowledge|Clear)\b/ }).count()).resolves.toBe(0);
    await expect(viewer.getByRole('button', { name: 'Add comment' }).count()).resolves.toBe(0);
    await screenshot(viewer, 'alarms-08-viewer', false);
    await viewer.getByRole('tab', { name: 'Rules' }).click();
    await viewer.getByRole('row', { name: /Boiler overheating/ }).waitFor();
    await expect(viewer.getByRole('button', { name: /New rule|Edit|Delete/ }).count()).resolves.toBe(0);
    await viewerContext.close();
    expect(viewerErrors).toEqual([]);

    // Cleared by hand from the device page: the panel and the header count empty live.
    await row.getByRole('button', { name: /^Clear/ }).click();
    await panel.getByTestId('device-alarms-empty').waitFor();
    await page.getByTestId('alarm-counts').waitFor({ state: 'detached', timeout: 10_000 });
    const all = await server.api.alarms.list({ deviceId: device.id });
    expect(all.items.map((a) => a.state).sort()).toEqual(['cleared', 'cleared_unacknowledged']);
  });

  it('asks before deleting a rule and a target, then deletes them; their alarms and delivery log stay', async () => {
    await page.goto(`${server.httpUrl}/alarms`);
    await page.getByRole('tab', { name: 'Rules' }).click();
    const rule = page.getByRole('row', { name: /Boiler overheating/ });
    await rule.getByRole('button', { name: /^Delete/ }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('It raises no more alarms').waitFor();
    await dialog.getByRole('button', { name: 'Delete rule' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.getByText('No rules yet').waitFor();
    expect((await server.api.alarms.list({ deviceId: device.id })).items).toHaveLength(2);

    await nav(page, 'Admin');
    const target = page.locator('#notification-targets').getByRole('row', { name: /on-call webhook/ });
    await target.getByRole('button', { name: /^Delete/ }).click();
    await dialog.getByRole('button', { name: 'Delete target' }).click();
    await page.locator('#notification-targets').getByText('No notification targets').waitFor();
    await page.getByTestId('delivery-log').locator('tr[data-status="delivered"]').first().waitFor();
  });

  it('logged no console errors', () => {
    expect(errors).toEqual([]);
  });
});
