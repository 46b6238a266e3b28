/** The ThingsBoard device API (README, Device protocol) through the real server, with mqtt.js clients written to ThingsBoard's documented shapes. */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TetherClient } from '@tether/api-client';
import { ADMIN, connectMqtt, httpJson, publish, publishV5, startServer, until, waitForClose, type TestServer } from './helpers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(async () => s?.close());

const api = (path: string, init: RequestInit & { token?: string } = {}) => httpJson(`${s.httpUrl}/api/v1${path}`, { token: s.api.token, ...init });
const command = async (deviceId: string, id: string) => (await api(`/devices/${deviceId}/commands/${id}`)).body as { status: string; result: unknown };

/** Messages a client receives, by topic, as parsed JSON. */
function inbox(client: MqttClient): { topic: string; body: unknown }[] {
  const got: { topic: string; body: unknown }[] = [];
  client.on('message', (topic, payload) => got.push({ topic, body: JSON.parse(payload.toString()) }));
  return got;
}

async function subscribe(client: MqttClient, filter: string): Promise<number> {
  const granted = await client.subscribeAsync(filter, { qos: 1 });
  return granted[0]!.qos;
}

describe('server-side RPC', () => {
  it('delivers a Tether command as an RPC request, and the answer completes it', async () => {
    const d = await s.api.devices.create({ name: 'tb-rpc' });
    const other = await s.api.devices.create({ name: 'tb-rpc-bystander' });
    const tb = await connectMqtt(s.mqttUrl, { username: d.token });
    const bystander = await connectMqtt(s.mqttUrl, { username: other.token });
    const got = inbox(tb);
    const seenByOther = inbox(bystander);
    expect(await subscribe(tb, 'v1/devices/me/rpc/request/+')).toBe(1);
    expect(await subscribe(bystander, 'v1/devices/me/rpc/request/+')).toBe(1);

    const created = await api(`/devices/${d.id}/commands`, { method: 'POST', body: JSON.stringify({ name: 'setGpio', params: { pin: 4, value: 1 } }) });
    expect(created.status).toBe(201);
    const request = await until(() => got.find((m) => m.topic.startsWith('v1/devices/me/rpc/request/')));
    expect(request.body).toEqual({ method: 'setGpio', params: { pin: 4, value: 1 } });
    const rpcId = request.topic.split('/').pop()!;
    expect(rpcId).toMatch(/^\d+$/);
    // The PUBACK marks it delivered.
    await until(async () => (await command(d.id, created.body.id as string)).status === 'delivered');

    await publish(tb, `v1/devices/me/rpc/response/${rpcId}`, JSON.stringify({ pin: 4, value: 1 }));
    const done = await until(async () => {
      const c = await command(d.id, created.body.id as string);
      return c.status === 'succeeded' ? c : null;
    });
    expect(done.result).toEqual({ pin: 4, value: 1 });
    // Another device subscribed to the same topic got nothing.
    expect(seenByOther).toEqual([]);
    tb.end(true);
    bystander.end(true);
  });

  it('sends commands queued while the device was away once it subscribes', async () => {
    const d = await s.api.devices.create({ name: 'tb-pending' });
    const first = await api(`/devices/${d.id}/commands`, { method: 'POST', body: JSON.stringify({ name: 'reboot' }) });
    const second = await api(`/devices/${d.id}/commands`, { method: 'POST', body: JSON.stringify({ name: 'blink', params: { n: 3 } }) });
    expect((await command(d.id, first.body.id as string)).status).toBe('queued');

    const tb = await connectMqtt(s.mqttUrl, { username: d.token });
    const got = inbox(tb);
    await subscribe(tb, 'v1/devices/me/rpc/request/+');
    await until(() => got.length === 2);
    expect(got.map((m) => (m.body as { method: string }).method).sort()).toEqual(['blink', 'reboot']);
    const ids = new Set(got.map((m) => m.topic));
    expect(ids.size).toBe(2);
    for (const m of got) await publish(tb, m.topic.replace('/request/', '/response/'), JSON.stringify({ ok: (m.body as { method: string }).method }));
    await until(async () => (await command(d.id, second.body.id as string)).status === 'succeeded');
    expect((await command(d.id, first.body.id as string)).result).toEqual({ ok: 'reboot' });
    tb.end(true);
  });
});

describe('client-side RPC and attributes', () => {
  it('answers getCurrentTime, and an unknown method with an error, on the same connection', async () => {
    const d = await s.api.devices.create({ name: 'tb-client-rpc' });
    const tb = await connectMqtt(s.mqttUrl, { username: d.token });
    const got = inbox(tb);
    await subscribe(tb, 'v1/devices/me/rpc/response/+');
    const before = Date.now();
    await publish(tb, 'v1/devices/me/rpc/request/7', JSON.stringify({ method: 'getCurrentTime', params: {} }));
    await publish(tb, 'v1/devices/me/rpc/request/8', JSON.stringify({ method: 'openValve', params: {} }));
    await publish(tb, 'v1/devices/me/rpc/request/9', JSON.stringify({ method: 'getSessionLimits', params: { timeout: 5000 } }));
    await until(() => got.length === 3);
    expect(got.find((m) => m.topic === 'v1/devices/me/rpc/response/9')!.body).toEqual({
      maxPayloadSize: s.config.maxPayloadBytes,
      maxInflightMessages: s.config.mqttReceiveMaximum,
      rateLimits: {},
    });
    const time = got.find((m) => m.topic === 'v1/devices/me/rpc/response/7')!.body as { time: number };
    expect(time.time).toBeGreaterThanOrEqual(before);
    expect(time.time).toBeLessThanOrEqual(Date.now());
    expect(got.find((m) => m.topic === 'v1/devices/me/rpc/response/8')!.body).toMatchObject({ error: expect.stringMatching(/openValve/) });
    expect(tb.connected).toBe(true);
    tb.end(true);
  });

  it('answers attribute requests with reported (client) and configuration (shared) values, and pushes configuration changes', async () => {
    const d = await s.api.devices.create({ name: 'tb-attrs' });
    await api(`/devices/${d.id}/config/interval`, { method: 'PUT', body: JSON.stringify({ value: 30 }) });
    await api(`/devices/${d.id}/config/mode`, { method: 'PUT', body: JSON.stringify({ value: 'eco' }) });
    const tb = await connectMqtt(s.mqttUrl, { username: d.token });
    const got = inbox(tb);
    await subscribe(tb, 'v1/devices/me/attributes/response/+');
    await subscribe(tb, 'v1/devices/me/attributes');
    const other = await s.api.devices.create({ name: 'tb-attrs-bystander' });
    const bystander = await connectMqtt(s.mqttUrl, { username: other.token });
    const seenByOther = inbox(bystander);
    await subscribe(bystander, 'v1/devices/me/attributes');
    await publish(tb, 'v1/devices/me/attributes', JSON.stringify({ fw: '1.2.0', model: 'esp32' }));

    await publish(tb, 'v1/devices/me/attributes/request/1', JSON.stringify({ clientKeys: 'fw,missing', sharedKeys: 'interval' }));
    const r1 = await until(() => got.find((m) => m.topic === 'v1/devices/me/attributes/response/1'));
    expect(r1.body).toEqual({ client: { fw: '1.2.0' }, shared: { interval: 30 } });
    await publish(tb, 'v1/devices/me/attributes/request/2', '{}');
    const r2 = await until(() => got.find((m) => m.topic === 'v1/devices/me/attributes/response/2'));
    expect(r2.body).toEqual({ client: { fw: '1.2.0', model: 'esp32' }, shared: { interval: 30, mode: 'eco' } });

    // A change: only the changed key; a deletion: {"deleted":[…]}.
    await api(`/devices/${d.id}/config/interval`, { method: 'PUT', body: JSON.stringify({ value: 60 }) });
    const push = await until(() => got.find((m) => m.topic === 'v1/devices/me/attributes'));
    expect(push.body).toEqual({ interval: 60 });
    await api(`/devices/${d.id}/config/mode`, { method: 'DELETE' });
    const del = await until(() => got.filter((m) => m.topic === 'v1/devices/me/attributes')[1]);
    expect(del.body).toEqual({ deleted: ['mode'] });
    // The device's own attribute publish is not echoed back to it or to another device.
    expect(got.filter((m) => m.topic === 'v1/devices/me/attributes')).toHaveLength(2);
    expect(seenByOther).toEqual([]);
    tb.end(true);
    bystander.end(true);
  });
});

describe('gateway API', () => {
  it('connects sub-devices, stores their telemetry and attributes under them, and carries RPC both ways', async () => {
    const gw = await s.api.devices.create({ name: 'tb-gateway', metadata: { isGateway: true } });
    const g = await connectMqtt(s.mqttUrl, { username: gw.token });
    const got = inbox(g);
    await subscribe(g, 'v1/gateway/rpc');
    await publish(g, 'v1/gateway/connect', JSON.stringify({ device: 'Sensor A', type: 'thermometer' }));
    const ts = Date.now() - 1000;
    await publish(
      g,
      'v1/gateway/telemetry',
      JSON.stringify({
        'Sensor A': [{ ts, values: { temp: 21.5 } }],
        'Sensor B': [
          { ts, values: { temp: 19 } },
          { ts: ts + 1, values: { hum: 40 } },
        ],
      }),
    );
    await publish(g, 'v1/gateway/attributes', JSON.stringify({ 'Sensor B': { fw: '0.9' } }));
    // Stored before the PUBACK: readable now.
    const list = (await api('/devices?limit=500')).body as { items: { id: string; name: string; type: string }[] };
    const a = list.items.find((x) => x.name === 'Sensor A')!;
    const b = list.items.find((x) => x.name === 'Sensor B')!;
    expect(a && b).toBeTruthy();
    // The connect's type is the new device's (ThingsBoard: its profile); B came by telemetry alone: none.
    expect([a.type, b.type]).toEqual(['thermometer', '']);
    expect((await s.api.devices.latest(a.id)).values.temp!.value).toBe(21.5);
    const latestB = await s.api.devices.latest(b.id);
    expect([latestB.values.temp!.value, latestB.values.hum!.value]).toEqual([19, 40]);
    expect((await api(`/devices/${b.id}/attributes`)).body).toMatchObject({ reported: { fw: { value: '0.9' } } });
    // The same name again is the same device, and keeps its type.
    await publish(g, 'v1/gateway/connect', JSON.stringify({ device: 'Sensor A', type: 'other' }));
    const again = ((await api('/devices?limit=500')).body as { items: { name: string; type: string }[] }).items.filter((x) => x.name === 'Sensor A');
    expect(again.map((x) => x.type)).toEqual(['thermometer']);

    const cmd = await api(`/devices/${a.id}/commands`, { method: 'POST', body: JSON.stringify({ name: 'calibrate', params: { offset: 0.5 } }) });
    const req = await until(() => got.find((m) => m.topic === 'v1/gateway/rpc'));
    const data = (req.body as { device: string; data: { id: number; method: string; params: unknown } }).data;
    expect(req.body).toMatchObject({ device: 'Sensor A', data: { method: 'calibrate', params: { offset: 0.5 } } });
    await until(async () => (await command(a.id, cmd.body.id as string)).status === 'delivered');
    await publish(g, 'v1/gateway/rpc', JSON.stringify({ device: 'Sensor A', id: data.id, data: { calibrated: true } }));
    await until(async () => (await command(a.id, cmd.body.id as string)).status === 'succeeded');
    expect((await command(a.id, cmd.body.id as string)).result).toEqual({ calibrated: true });
    g.end(true);
  });

  it('names only devices of its own org: another org’s device of the same name is never written', async () => {
    const inA = await s.api.devices.create({ name: 'Boiler 1' });
    const orgB = await s.api.orgs.create('TB org B');
    const b = new TetherClient({ baseUrl: s.httpUrl });
    await b.login(ADMIN.email, ADMIN.password, orgB.id);
    const gw = await b.devices.create({ name: 'gw-b', metadata: { isGateway: true } });
    const g = await connectMqtt(s.mqttUrl, { username: gw.token });
    await publish(g, 'v1/gateway/telemetry', JSON.stringify({ 'Boiler 1': [{ ts: Date.now(), values: { cross: 1 } }] }));
    g.end(true);
    expect((await s.api.devices.latest(inA.id)).values).toEqual({});
    const inB = ((await httpJson(`${s.httpUrl}/api/v1/devices?limit=500`, { token: b.token })).body as { items: { id: string; name: string }[] }).items;
    const created = inB.find((x) => x.name === 'Boiler 1')!;
    expect(created.id).not.toBe(inA.id);
    expect((await b.devices.latest(created.id)).values.cross!.value).toBe(1);
  });

  it('refuses gateway topics from a device that is not a gateway', async () => {
    const d = await s.api.devices.create({ name: 'tb-not-gateway' });
    const c = await connectMqtt(s.mqttUrl, { username: d.token, protocolVersion: 5 });
    const r = await publishV5(c, 'v1/gateway/telemetry', JSON.stringify({ X: [{ ts: Date.now(), values: { a: 1 } }] }));
    expect(r.reasonCode).toBe(0x87);
    expect(r.reason).toMatch(/not a gateway/);
    expect(((await api('/devices?limit=500')).body as { items: { name: string }[] }).items.some((x) => x.name === 'X')).toBe(false);
    c.end(true);
  });
});

describe('bad input', () => {
  it('refuses with a reason (MQTT 5) and keeps serving; MQTT 3.1.1 is closed; nothing crashes', async () => {
    const gw = await s.api.devices.create({ name: 'tb-bad-gw', metadata: { isGateway: true } });
    const c = await connectMqtt(s.mqttUrl, { username: gw.token, protocolVersion: 5 });
    const cases: [string, string, RegExp][] = [
      ['v1/devices/me/rpc/request/abc', '{"method":"getCurrentTime"}', /must be a number/],
      ['v1/devices/me/rpc/request/1', 'not json', /not valid JSON/],
      ['v1/devices/me/rpc/request/1', '{"params":{}}', /method/],
      ['v1/devices/me/rpc/response/999', '{}', /no RPC request 999/],
      ['v1/devices/me/attributes/request/1', '{"clientKeys":5}', /clientKeys/],
      ['v1/gateway/connect', '{"device":""}', /device name/],
      ['v1/gateway/connect', '{"device":"S","type":7}', /device type/],
      ['v1/gateway/telemetry', '[1,2]', /JSON object/],
      ['v1/gateway/telemetry', '{"S":"nope"}', /"S"/],
      ['v1/gateway/rpc', '{"device":"S","id":"x"}', /id/],
      ['v1/gateway/unknown', '{}', /unknown ThingsBoard gateway topic/],
      ['v1/devices/me/whatever', '{}', /unknown ThingsBoard topic/],
    ];
    for (const [topic, payload, reason] of cases) {
      const r = await publishV5(c, topic, payload);
      expect(r.reasonCode, topic).toBeGreaterThanOrEqual(0x80);
      expect(r.reason, topic).toMatch(reason);
    }
    const ok = await publishV5(c, 'v1/devices/me/telemetry', '{"still":1}');
    expect(ok.reasonCode).toBe(0);
    c.end(true);

    const old = await connectMqtt(s.mqttUrl, { username: gw.token });
    const closed = waitForClose(old);
    old.publish('v1/devices/me/attributes/request/1', 'not json', { qos: 1 });
    await closed;
  });

  it('refuses subscriptions outside the ThingsBoard and own topics', async () => {
    const d = await s.api.devices.create({ name: 'tb-subs' });
    const c = await connectMqtt(s.mqttUrl, { username: d.token });
    // mqtt.js rejects a SUBACK 0x80; the connection stays.
    await expect(subscribe(c, 'v1/devices/me/#')).rejects.toThrow(/Subscribe error/);
    await expect(subscribe(c, 'v1/gateway/#')).rejects.toThrow(/Subscribe error/);
    expect(await subscribe(c, 'v1/devices/me/attributes/response/+')).toBe(1);
    c.end(true);
  });
});
