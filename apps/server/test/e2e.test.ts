/**
 * End to end through the real path: the server on free ports, real MQTT
 * clients, real HTTP, the live WebSocket.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DeviceClient } from '@tether/device-sdk';
import { TetherClient } from '@tether/api-client';
import type { LiveAlertEvent, LiveTelemetryEvent } from '@tether/contracts';
import { connectMqtt, httpJson, openLive, publish, startServer, waitForClose, type TestServer } from './helpers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(async () => {
  await s?.close();
});

describe('core flow', () => {
  it('creates an org, a user and a device through the API, publishes over MQTT QoS 1, reads REST and receives live', async () => {
    const org = await s.api.orgs.create('Acme');
    const acme = new TetherClient({ baseUrl: s.httpUrl });
    await acme.login('admin@example.com', 'admin-password-1', org.id);
    const user = await acme.users.create({ email: 'op@acme.test', password: 'operator-pw-1', role: 'operator' });
    expect(user.role).toBe('operator');
    const project = await acme.projects.create({ name: 'Boilers' });
    const device = await acme.devices.create({ name: 'boiler-1', projectId: project.id, tags: ['basement'] });
    expect(device.token).toMatch(/^dt_/);

    const operator = new TetherClient({ baseUrl: s.httpUrl });
    await operator.login('op@acme.test', 'operator-pw-1');
    const live = await openLive(s.httpUrl, operator.token!);
    live.send({ type: 'subscribe', id: 'a', devices: [device.id], channels: ['telemetry', 'status', 'alerts'] });
    await live.next((m) => m.type === 'subscribed');

    const dev = await DeviceClient.connect({ url: s.mqttUrl, deviceId: device.id, token: device.token });
    await live.next((m) => m.type === 'status' && m.online);
    const t0 = Date.now();
    await dev.sendTelemetry({ temperature: 21.5, humidity: 40, label: 'ok', pump: true });
    // The PUBACK came after commit: the value is readable right away.
    const latest = await operator.devices.latest(device.id);
    expect(latest.values.temperature?.value).toBe(21.5);
    expect(latest.values.label?.value).toBe('ok');
    expect(latest.values.pump?.value).toBe(true);
    const ev = await live.next((m) => m.type === 'telemetry');
    expect(Date.now() - t0).toBeLessThan(2000);
    expect((ev as LiveTelemetryEvent).points.find((p) => p.key === 'humidity')?.value).toBe(40);

    await dev.sendAlert({ message: 'Gas leakage detected', severity: 'critical', type: 'gas' });
    const alertEv = await live.next((m) => m.type === 'alert');
    expect((alertEv as LiveAlertEvent).alert.message).toBe('Gas leakage detected');
    // The names of the files it will upload (none here); the dashboard's live feed shows a paperclip from them.
    expect((alertEv as LiveAlertEvent).alert.files).toEqual([]);
    const alerts = await operator.alerts.list({ projectId: project.id, severity: 'critical', type: 'gas' });
    expect(alerts.items).toHaveLength(1);
    expect(alerts.items[0]!.deviceName).toBe('boiler-1');

    const status = await operator.devices.status(device.id);
    expect(status).toMatchObject({ online: true, active: true });
    expect(status.lastSeenAt).not.toBeNull();

    const overview = await operator.request<{
      devices: { total: number; online: number };
      alerts24h: { total: number };
      messagesPerMinute: { count: number }[];
    }>('GET', '/api/v1/fleet/overview');
    expect(overview.devices).toMatchObject({ total: 1, online: 1 });
    expect(overview.alerts24h.total).toBe(1);
    expect(overview.messagesPerMinute.reduce((n, m) => n + m.count, 0)).toBe(2);

    await dev.close();
    await live.next((m) => m.type === 'status' && !m.online);
    expect((await operator.devices.status(device.id)).online).toBe(false);
    live.close();
  });

  it('accepts the seed 000 payload, checks device_id and jwt_token, and drops them from the readings', async () => {
    const device = await s.api.devices.create({ name: 'seed-000' });
    const { token: jwt } = await s.api.devices.deviceToken(device.id);
    const c = await connectMqtt(s.mqttUrl, { username: device.id, password: device.token });
    const payload = { device_id: device.id, jwt_token: jwt, temperature: 87, humidity: 99, timestamp: '2023-03-29 13:15:56.811550' };
    await publish(c, `devices/${device.id}/telemetry`, JSON.stringify(payload));
    const latest = await s.api.devices.latest(device.id);
    expect(Object.keys(latest.values).sort()).toEqual(['humidity', 'temperature']);
    expect(latest.values.temperature).toEqual({ ts: '2023-03-29T13:15:56.811Z', value: 87 });
    const msgs = await s.api.devices.messages(device.id);
    expect(JSON.stringify(msgs.items[0]!.payload)).not.toContain('jwt_token');

    // A seed-000 alert, and a JWT as the MQTT password.
    const c2 = await connectMqtt(s.mqttUrl, { username: device.id, password: jwt });
    await publish(c2, `devices/${device.id}/alerts`, JSON.stringify({ device_id: device.id, jwt_token: jwt, message: 'Gas leakage detected' }));
    const alerts = await s.api.alerts.list({ deviceId: device.id });
    expect(alerts.items[0]).toMatchObject({ message: 'Gas leakage detected', severity: 'warning' });

    // A device_id that is not the connection's is refused with a disconnect.
    const closed = waitForClose(c);
    c.publish(`devices/${device.id}/telemetry`, JSON.stringify({ ...payload, device_id: '507f1f77bcf86cd799439011' }), { qos: 1 });
    await closed;
    c2.end(true);
  });

  it('stores heartbeats, locations and attributes, and serves history with aggregation', async () => {
    const device = await s.api.devices.create({ name: 'truck-1' });
    const dev = await DeviceClient.connect({ url: s.mqttUrl, deviceId: device.id, token: device.token });
    await dev.heartbeat();
    await dev.heartbeat({ uptime: 100, battery: 87, rssi: -70 });
    await dev.sendLocation({ lat: 52.37, lon: 4.89, speed: 40 });
    await dev.reportAttributes({ fw_version: '1.4.2', model: 'rpi4' });
    const base = Date.now() - 10 * 60_000;
    await dev.sendTelemetry(Array.from({ length: 10 }, (_, i) => ({ ts: base + i * 60_000, values: { speed: i * 10 } })));
    const d = await s.api.devices.get(device.id);
    expect(d.firmwareVersion).toBe('1.4.2');
    expect(d.location).toMatchObject({ lat: 52.37, lon: 4.89 });
    const attrs = await s.api.devices.attributes(device.id);
    expect(attrs.reported.model?.value).toBe('rpi4');
    const raw = await s.api.devices.telemetry(device.id, { keys: 'speed', from: String(base - 1), to: new Date().toISOString() });
    expect(raw.series.speed).toHaveLength(10);
    const agg = await s.api.devices.telemetry(device.id, { keys: 'speed', from: String(base - 1), interval: '1h', agg: 'max' });
    expect(agg.series.speed!.reduce((m, p) => Math.max(m, p.value as number), 0)).toBe(90);
    const count = await s.api.devices.telemetry(device.id, { keys: 'speed', from: String(base - 1), interval: '1d', agg: 'count' });
    expect(count.series.speed!.reduce((n, p) => n + (p.value as number), 0)).toBe(10);
    const msgs = await s.api.devices.messages(device.id, { channel: 'heartbeat' });
    expect(msgs.items).toHaveLength(2);
    await dev.close();
  });

  it('speaks MQTT over WebSocket on /mqtt and the ThingsBoard device API', async () => {
    const device = await s.api.devices.create({ name: 'ws-device' });
    const dev = await DeviceClient.connect({ url: s.wsMqttUrl, deviceId: device.id, token: device.token });
    await dev.sendTelemetry({ v: 1 });
    await dev.close();
    const tb = await connectMqtt(s.mqttUrl, { username: device.token });
    await publish(tb, 'v1/devices/me/telemetry', JSON.stringify({ tb: 2 }));
    tb.end(true);
    const r = await httpJson(`${s.httpUrl}/api/v1/${device.token}/telemetry`, { method: 'POST', body: JSON.stringify({ tbhttp: 3 }) });
    expect(r.status).toBe(200);
    const latest = await s.api.devices.latest(device.id);
    expect(Object.keys(latest.values).sort()).toEqual(['tb', 'tbhttp', 'v']);
  });
});

describe('bad input', () => {
  it('refuses a wrong token with CONNACK 4 and an unknown device the same way', async () => {
    const device = await s.api.devices.create({ name: 'bad-token' });
    await expect(connectMqtt(s.mqttUrl, { username: device.id, password: 'dt_wrong' })).rejects.toThrow(/Bad username or password/i);
    await expect(connectMqtt(s.mqttUrl, { username: '00000000-0000-4000-8000-000000000000', password: device.token })).rejects.toThrow(
      /Bad username or password/i,
    );
  });

  it('disconnects on malformed JSON, non-finite numbers, oversized payloads and foreign topics, and keeps what was accepted', async () => {
    const a = await s.api.devices.create({ name: 'bad-a' });
    const b = await s.api.devices.create({ name: 'bad-b' });
    const cases: [string, string | Buffer][] = [
      [`devices/${a.id}/telemetry`, '{"temperature": 21.5'],
      [`devices/${a.id}/telemetry`, '{"temperature": 1e999}'],
      [`devices/${a.id}/telemetry`, '{"temperature": null}'],
      [`devices/${a.id}/telemetry`, Buffer.alloc(300 * 1024, 'x')],
      [`devices/${a.id}/location`, '{"lat": 123, "lon": 4}'],
      [`devices/${b.id}/telemetry`, '{"spoofed": 1}'],
      [`devices/${a.id}/config`, '{"x": 1}'],
    ];
    for (const [topic, payload] of cases) {
      const c = await connectMqtt(s.mqttUrl, { username: a.id, password: a.token });
      await publish(c, `devices/${a.id}/telemetry`, JSON.stringify({ good: 1 }));
      const closed = waitForClose(c);
      c.publish(topic, payload, { qos: 1 });
      await closed;
      c.end(true);
    }
    const la = await s.api.devices.latest(a.id);
    expect(Object.keys(la.values)).toEqual(['good']);
    expect(Object.keys((await s.api.devices.latest(b.id)).values)).toEqual([]);
    const metrics = await (await fetch(`${s.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/tether_messages_rejected_total\{reason="malformed_json",transport="mqtt"\} [1-9]/);
    expect(metrics).toMatch(/tether_messages_rejected_total\{reason="not_authorized",transport="mqtt"\} [1-9]/);
  });

  it('answers HTTP device API errors with precise codes', async () => {
    const d = await s.api.devices.create({ name: 'http-device' });
    const post = (path: string, body: string, token = d.token) => httpJson(`${s.httpUrl}/api/v1/device/${path}`, { method: 'POST', body, token });
    expect((await post('telemetry', '{"t": 1}')).status).toBe(202);
    const bad = await post('telemetry', '{"t": ');
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'INVALID_PAYLOAD' } } });
    expect((await post('telemetry', '{"t": 1}', 'dt_nope')).body.error?.code).toBe('UNAUTHORIZED');
    expect((await post('telemetry', '{"t": 1}', 'dt_nope')).status).toBe(401);
    const big = await post('telemetry', JSON.stringify({ t: 'x'.repeat(300 * 1024) }));
    expect(big).toMatchObject({ status: 413, body: { error: { code: 'PAYLOAD_TOO_LARGE' } } });
    expect((await post('alerts', '{"severity":"critical"}')).status).toBe(400);
    expect((await post('location', '{"lat":1,"lon":2}')).status).toBe(202);
    expect((await post('heartbeat', '')).status).toBe(202);
    const latest = await s.api.devices.latest(d.id);
    expect(latest.values.t?.value).toBe(1);
  });

  it('returns 400 for malformed ids and JSON errors everywhere', async () => {
    const r = await httpJson(`${s.httpUrl}/api/v1/devices/not-a-uuid`, { token: s.api.token });
    expect(r).toMatchObject({ status: 400, body: { error: { code: 'INVALID_ID' } } });
    const u = await httpJson(`${s.httpUrl}/api/v1/devices`);
    expect(u).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED' } } });
    const nf = await httpJson(`${s.httpUrl}/api/v1/nope`);
    expect(nf).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
  });

  it('rejects a live subscription without a valid token', async () => {
    const ws = new WebSocket(`${s.httpUrl.replace('http', 'ws')}/api/v1/live?token=bogus`);
    const code = await new Promise<number>((resolve) => ws.on('close', (c) => resolve(c)));
    expect(code).toBe(4001);
  });
});

describe('accounts and devices', () => {
  it('refreshes tokens once, rotates device credentials and drops the old session', async () => {
    const c = new TetherClient({ baseUrl: s.httpUrl });
    const first = await c.login('admin@example.com', 'admin-password-1');
    await c.refresh();
    const reuse = await httpJson(`${s.httpUrl}/api/v1/auth/refresh`, { method: 'POST', body: JSON.stringify({ refreshToken: first.refreshToken }) });
    expect(reuse.status).toBe(401);

    const d = await s.api.devices.create({ name: 'rotating' });
    const m = await connectMqtt(s.mqttUrl, { username: d.id, password: d.token });
    const closed = waitForClose(m);
    const { token } = await s.api.devices.rotateToken(d.id);
    await closed;
    await expect(connectMqtt(s.mqttUrl, { username: d.id, password: d.token })).rejects.toThrow();
    const m2 = await connectMqtt(s.mqttUrl, { username: d.id, password: token });
    m2.end(true);
  });

  it('filters and paginates the device list', async () => {
    const p = await s.api.projects.create({ name: 'Filters' });
    for (let i = 0; i < 5; i++) await s.api.devices.create({ name: `filter-${i}`, projectId: p.id, tags: i % 2 ? ['odd'] : ['even'] });
    const odd = await s.api.devices.list({ projectId: p.id, tag: 'odd' });
    expect(odd.total).toBe(2);
    const page = await s.api.devices.list({ projectId: p.id, limit: 2, offset: 2 });
    expect(page.items).toHaveLength(2);
    expect(page.total).toBe(5);
    const q = await s.api.devices.list({ q: 'filter-3' });
    expect(q.items.map((d) => d.name)).toEqual(['filter-3']);
  });

  it('issues and verifies device JWTs; a device may ask for its own', async () => {
    const d = await s.api.devices.create({ name: 'jwt' });
    const self = await httpJson(`${s.httpUrl}/api/v1/auth/device-token`, { method: 'POST', token: d.token, body: '{}' });
    expect(self.status).toBe(200);
    const v = await s.api.verifyDeviceToken(self.body.token as string);
    expect(v).toMatchObject({ valid: true, deviceId: d.id });
    expect((await s.api.verifyDeviceToken('abc.def.ghi')).valid).toBe(false);
  });

  it('serves the OpenAPI document, health, readiness and metrics', async () => {
    const doc = await httpJson(`${s.httpUrl}/api/docs/openapi.json`);
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths as object)).toContain('/api/v1/devices/{id}/telemetry');
    expect((await httpJson(`${s.httpUrl}/healthz`)).status).toBe(200);
    expect((await httpJson(`${s.httpUrl}/readyz`)).body).toMatchObject({ status: 'ready' });
    const metrics = await (await fetch(`${s.httpUrl}/metrics`)).text();
    expect(metrics).toContain('tether_ingest_batch_size_bucket');
    expect(metrics).toContain('tether_mqtt_connected_devices');
  });
});

describe('reconnect storm', () => {
  // A busy server does not accept for a moment; the kernel's accept queue holds the storm
  // meanwhile. With Node's default backlog (511) the rest of the SYNs were dropped, and those
  // devices waited for their retransmits (1 s, 3 s, 7 s...).
  it.each(['mqtt', 'http'])('queues 1,200 %s connections in the kernel while the server is not accepting', (kind) => {
    const port = Number(new URL(kind === 'mqtt' ? s.mqttUrl : s.httpUrl).port);
    const script = `
      const net = require('node:net');
      let up = 0;
      const socks = [];
      for (let i = 0; i < 1200; i++) {
        const c = net.connect(${port}, '127.0.0.1', () => up++);
        c.on('error', () => {});
        socks.push(c);
      }
      setTimeout(() => { console.log(up); for (const c of socks) c.destroy(); }, 700);`;
    // execFileSync blocks this process, and so the server in it, while the child connects.
    const up = Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim());
    const somaxconn = Number(fs.readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
    expect(up).toBeGreaterThanOrEqual(Math.min(1200, somaxconn));
  });
});
