/**
 * Issue 13, alarms through the real server: rules made over REST, devices
 * publishing over MQTT, evaluation on committed data, and the lifecycle
 * active → acknowledged → cleared with one row and its history.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Device } from '@tether/api-client';
import { connectMqtt, httpJson, openLive, publish, startServer, until, type TestServer } from './helpers.js';

let s: TestServer;
const clients: MqttClient[] = [];

type Json = Record<string, unknown>;
const api = async (method: string, path: string, body?: unknown) => {
  const r = await httpJson(`${s.httpUrl}${path}`, { method, token: s.api.token!, body: body === undefined ? undefined : JSON.stringify(body) });
  return r as { status: number; body: Json & { items?: Json[]; error?: { code: string; message: string } } };
};
const rule = (over: Json) => ({
  scope: 'org',
  name: 'boiler too hot',
  kind: 'threshold',
  key: 'temperature',
  condition: { op: '>', value: 80 },
  clear: { op: '<', value: 75 },
  severity: 'critical',
  message: '{{device.name}} temperature {{value}} °C',
  ...over,
});
const alarmsOf = async (deviceId: string, extra = '') => (await api('GET', `/api/v1/alarms?deviceId=${deviceId}${extra}`)).body.items as Json[];

async function device(name: string, projectId?: string): Promise<{ d: Device & { token: string }; mqtt: MqttClient; send(values: Json): Promise<void> }> {
  const d = await s.api.devices.create({ name, ...(projectId ? { projectId } : {}) });
  const mqtt = await connectMqtt(s.mqttUrl, { username: d.id, password: d.token });
  clients.push(mqtt);
  const send = async (values: Json) => {
    await publish(mqtt, `devices/${d.id}/telemetry`, JSON.stringify(values));
    // Evaluation follows the commit, off the PUBACK path: wait for it.
    await s.tether.alarms!.idle();
  };
  return { d, mqtt, send };
}

beforeAll(async () => {
  s = await startServer();
});
afterAll(async () => {
  for (const c of clients) c.end(true);
  await s?.close();
});

describe('rules', () => {
  it('refuses a rule on a key no device reports, an impossible condition, and a malformed one, each with a stable code', async () => {
    const b = await device('rule-check');
    await b.send({ temperature: 20 });
    expect((await api('POST', '/api/v1/alarm-rules', rule({ key: 'temprature' }))).body.error).toMatchObject({ code: 'RULE_UNKNOWN_KEY' });
    expect((await api('POST', '/api/v1/alarm-rules', rule({ condition: { op: 'between', value: 90, value2: 80 } }))).body.error).toMatchObject({
      code: 'RULE_IMPOSSIBLE',
    });
    expect((await api('POST', '/api/v1/alarm-rules', rule({ clear: { op: '>', value: 70 } }))).body.error).toMatchObject({ code: 'RULE_IMPOSSIBLE' });
    expect((await api('POST', '/api/v1/alarm-rules', rule({ kind: 'no_data', key: null, condition: { silentS: 1 } }))).body.error).toMatchObject({
      code: 'RULE_INVALID',
    });
    const r = await api('POST', '/api/v1/alarm-rules', rule({ scope: 'project' }));
    expect(r).toMatchObject({ status: 400, body: { error: { code: 'RULE_INVALID' } } });
    // A key another template declares is not this device's: its own template declares none.
    expect((await api('POST', '/api/v1/templates', { name: 'flow meter', telemetry: [{ name: 'flow_rate' }] })).status).toBe(201);
    expect((await api('POST', '/api/v1/alarm-rules', rule({ scope: 'device', scopeId: b.d.id, key: 'flow_rate' }))).body.error).toMatchObject({
      code: 'RULE_UNKNOWN_KEY',
    });
    expect((await api('POST', '/api/v1/alarm-rules', rule({ name: 'org flow', key: 'flow_rate' }))).status).toBe(201);
  });
});

describe('a threshold rule with hysteresis', () => {
  it('raises once, counts repeats on the same row, stays open in the band, clears below the clear value, and keeps the history', async () => {
    const b = await device('boiler-1');
    await b.send({ temperature: 60 });
    const created = await api('POST', '/api/v1/alarm-rules', rule({ scope: 'device', scopeId: b.d.id, name: 'boiler-1 hot' }));
    expect(created.status).toBe(201);

    await b.send({ temperature: 85 });
    let [alarm] = await alarmsOf(b.d.id);
    expect(alarm).toMatchObject({
      state: 'active',
      severity: 'critical',
      count: 1,
      value: 85,
      message: 'boiler-1 temperature 85 °C',
      ruleName: 'boiler-1 hot',
    });

    // Repeats, several in flight at once: one row, counted.
    await Promise.all([86, 87, 88, 89].map((t) => publish(b.mqtt, `devices/${b.d.id}/telemetry`, JSON.stringify({ temperature: t }))));
    await s.tether.alarms!.idle();
    await b.send({ temperature: 78 }); // between 75 and 80: still open
    const open = await alarmsOf(b.d.id);
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ id: alarm!.id, state: 'active', count: 5 });

    const acked = await api('POST', `/api/v1/alarms/${alarm!.id}/acknowledge`, { comment: 'on my way' });
    expect(acked.body).toMatchObject({ state: 'acknowledged', acknowledgedBy: expect.any(String) });
    await b.send({ temperature: 74 });
    [alarm] = await alarmsOf(b.d.id);
    expect(alarm).toMatchObject({ state: 'cleared', clearedBy: null });
    const detail = await api('GET', `/api/v1/alarms/${alarm!.id}`);
    expect((detail.body.history as Json[]).map((h) => h.action)).toEqual(['raised', 'acknowledged', 'cleared']);
    expect((detail.body.history as Json[])[1]).toMatchObject({ comment: 'on my way' });

    // The next occurrence is a new alarm.
    await b.send({ temperature: 95 });
    const all = await alarmsOf(b.d.id);
    expect(all.map((a) => a.state)).toEqual(['active', 'cleared']);
    expect(await alarmsOf(b.d.id, '&state=open')).toHaveLength(1);
  });

  it('a rule with a duration fires only once the condition has held that long, even if the device then goes quiet (the sweep)', async () => {
    const b = await device('boiler-2');
    await b.send({ temperature: 60 });
    await api('POST', '/api/v1/alarm-rules', rule({ scope: 'device', scopeId: b.d.id, name: 'hot for 5 min', durationS: 300 }));
    await b.send({ temperature: 90 });
    await b.send({ temperature: 91 });
    expect(await alarmsOf(b.d.id)).toHaveLength(0);
    // No message for five minutes: the window, kept in the database, is raised by the sweep.
    await s.tether.alarms!.sweep(new Date(Date.now() + 299_000));
    expect(await alarmsOf(b.d.id)).toHaveLength(0);
    await s.tether.alarms!.sweep(new Date(Date.now() + 301_000));
    const [alarm] = await alarmsOf(b.d.id);
    expect(alarm).toMatchObject({ state: 'active', value: 91, count: 1 });
  });

  it('the most specific rule of a name applies: a project overrides the org, a disabled device rule switches it off', async () => {
    const project = await s.api.projects.create({ name: 'hot plant' });
    const inProject = await device('in-project', project.id);
    const plain = await device('plain');
    const off = await device('switched-off', project.id);
    for (const x of [inProject, plain, off]) await x.send({ pressure: 1 });
    expect((await api('POST', '/api/v1/alarm-rules', rule({ name: 'pressure', key: 'pressure', condition: { op: '>', value: 5 }, clear: null }))).status).toBe(
      201,
    );
    expect(
      (
        await api(
          'POST',
          '/api/v1/alarm-rules',
          rule({ name: 'pressure', key: 'pressure', scope: 'project', scopeId: project.id, condition: { op: '>', value: 8 }, clear: null }),
        )
      ).status,
    ).toBe(201);
    expect(
      (await api('POST', '/api/v1/alarm-rules', rule({ name: 'pressure', key: 'pressure', scope: 'device', scopeId: off.d.id, enabled: false, clear: null })))
        .status,
    ).toBe(201);
    for (const x of [inProject, plain, off]) await x.send({ pressure: 6 });
    expect(await alarmsOf(plain.d.id)).toHaveLength(1);
    expect(await alarmsOf(inProject.d.id)).toHaveLength(0);
    await inProject.send({ pressure: 9 });
    expect(await alarmsOf(inProject.d.id)).toHaveLength(1);
    await off.send({ pressure: 100 });
    expect(await alarmsOf(off.d.id)).toHaveLength(0);
  });
});

describe('other rule kinds', () => {
  it('no data: raised by the sweep when a device is silent, cleared when it is heard from', async () => {
    const b = await device('quiet');
    await b.send({ temperature: 20 });
    await api(
      'POST',
      '/api/v1/alarm-rules',
      rule({ scope: 'device', scopeId: b.d.id, name: 'silent', kind: 'no_data', key: null, condition: { silentS: 600 }, clear: null }),
    );
    await s.tether.alarms!.sweep(new Date(Date.now() + 590_000));
    expect(await alarmsOf(b.d.id)).toHaveLength(0);
    await s.tether.alarms!.sweep(new Date(Date.now() + 610_000));
    await s.tether.alarms!.sweep(new Date(Date.now() + 620_000));
    const [alarm] = await alarmsOf(b.d.id);
    expect(alarm).toMatchObject({ state: 'active', count: 1, ruleName: 'silent' });
    await b.send({ temperature: 21 });
    expect((await alarmsOf(b.d.id))[0]).toMatchObject({ state: 'cleared_unacknowledged' });
  });

  it('a device alert type mapped to a rule gets the alarm lifecycle: repeats count, and it clears after a quiet period', async () => {
    const b = await device('gas-sensor');
    await api(
      'POST',
      '/api/v1/alarm-rules',
      rule({
        scope: 'device',
        scopeId: b.d.id,
        name: 'gas',
        kind: 'device_alert',
        key: 'gas',
        condition: {},
        clear: { afterS: 600 },
        message: '{{alert.message}} at {{device.name}}',
      }),
    );
    for (let i = 0; i < 3; i++)
      await publish(b.mqtt, `devices/${b.d.id}/alerts`, JSON.stringify({ message: 'Gas leakage detected', severity: 'critical', type: 'gas' }));
    await s.tether.alarms!.idle();
    const [alarm] = await alarmsOf(b.d.id);
    expect(alarm).toMatchObject({ state: 'active', count: 3, message: 'Gas leakage detected at gas-sensor' });
    await s.tether.alarms!.sweep(new Date(Date.now() + 601_000));
    expect((await alarmsOf(b.d.id))[0]).toMatchObject({ state: 'cleared_unacknowledged' });

    // An exact replay (explicit ts) is stored once, and counts once.
    const replayed = JSON.stringify({ message: 'Gas leakage detected', severity: 'critical', type: 'gas', ts: Date.now() });
    await Promise.all([1, 2, 3].map(() => publish(b.mqtt, `devices/${b.d.id}/alerts`, replayed)));
    await publish(b.mqtt, `devices/${b.d.id}/alerts`, replayed);
    await s.tether.alarms!.idle();
    const [again] = await alarmsOf(b.d.id, '&state=open');
    expect(again).toMatchObject({ state: 'active', count: 1 });
  });

  it('a rate rule fires when the value rises by more than `by` within its window', async () => {
    const b = await device('fast-riser');
    await b.send({ temperature: 20 });
    await api(
      'POST',
      '/api/v1/alarm-rules',
      rule({ scope: 'device', scopeId: b.d.id, name: 'rising', kind: 'rate', condition: { direction: 'rise', by: 10, windowS: 60 }, clear: null }),
    );
    await b.send({ temperature: 22 });
    await b.send({ temperature: 29 });
    expect(await alarmsOf(b.d.id)).toHaveLength(0);
    await b.send({ temperature: 33 });
    expect(await alarmsOf(b.d.id)).toHaveLength(1);
  });
});

describe('the rule editor preview', () => {
  it('replays a rule over the last 24 h of a device: how many times it would have fired, and when', async () => {
    const b = await device('history-boiler');
    for (const t of [70, 85, 86, 70, 90, 91, 92, 60]) await b.send({ temperature: t });
    const preview = await api('POST', '/api/v1/alarm-rules/preview', {
      deviceId: b.d.id,
      rule: { kind: 'threshold', key: 'temperature', condition: { op: '>', value: 80 }, clear: { op: '<', value: 75 } },
    });
    expect(preview.status).toBe(200);
    expect(preview.body).toMatchObject({ points: 8, fired: 2, truncated: false });
    expect((preview.body.occurrences as Json[]).map((o) => [o.count, o.peak, o.clearedAt === null])).toEqual([
      [2, 86, false],
      [3, 92, false],
    ]);
    // Nothing was raised: a preview only replays.
    expect(await alarmsOf(b.d.id)).toHaveLength(0);
    expect(
      (await api('POST', '/api/v1/alarm-rules/preview', { deviceId: b.d.id, rule: { kind: 'no_data', condition: { silentS: 60 } } })).body.error,
    ).toMatchObject({ code: 'RULE_INVALID' });
    expect(
      (
        await api('POST', '/api/v1/alarm-rules/preview', {
          deviceId: '00000000-0000-4000-8000-000000000000',
          rule: { kind: 'threshold', key: 'temperature', condition: { op: '>', value: 80 } },
        })
      ).body.error,
    ).toMatchObject({ code: 'DEVICE_NOT_FOUND' });
  });
});

describe('live', () => {
  it("tells the org's dashboards when an alarm is raised, acknowledged and cleared", async () => {
    const b = await device('watched');
    await b.send({ temperature: 20 });
    await api('POST', '/api/v1/alarm-rules', rule({ scope: 'device', scopeId: b.d.id, name: 'watched hot' }));
    const live = await openLive(s.httpUrl, s.api.token!);
    try {
      live.send({ type: 'subscribe', id: 'alarms', channels: ['alarms'] });
      await live.next((m) => m.type === 'subscribed');
      await b.send({ temperature: 99 });
      const raised = await live.next((m) => m.type === 'alarm' && m.deviceId === b.d.id && m.alarm.open);
      const id = (raised as { alarm: { id: string } }).alarm.id;
      await api('POST', `/api/v1/alarms/${id}/acknowledge`, {});
      await b.send({ temperature: 50 });
      await live.next((m) => m.type === 'alarm' && m.alarm.id === id && !m.alarm.open);
      expect(live.messages.filter((m) => m.type === 'alarm' && m.alarm.id === id).length).toBeGreaterThanOrEqual(3);
      // Only the alarms channel was asked for.
      expect(live.messages.some((m) => m.type === 'telemetry')).toBe(false);
    } finally {
      live.close();
    }
  });
});

describe('live, by project', () => {
  it("tells a project's dashboards of its own devices' alarms only", async () => {
    const plant = await s.api.projects.create({ name: 'live plant' });
    const other = await s.api.projects.create({ name: 'other plant' });
    const mine = await device('in plant', plant.id);
    const theirs = await device('elsewhere', other.id);
    for (const x of [mine, theirs]) {
      await x.send({ temperature: 20 });
      await api('POST', '/api/v1/alarm-rules', rule({ scope: 'device', scopeId: x.d.id, name: `hot ${x.d.name}` }));
    }
    const live = await openLive(s.httpUrl, s.api.token!);
    try {
      live.send({ type: 'subscribe', id: 'plant', project: plant.id, channels: ['alarms'] });
      await live.next((m) => m.type === 'subscribed');
      await theirs.send({ temperature: 99 });
      await mine.send({ temperature: 99 });
      const raised = await live.next((m) => m.type === 'alarm' && m.deviceId === mine.d.id && m.alarm.open);
      expect(raised).toMatchObject({ projectId: plant.id });
      await mine.send({ temperature: 50 });
      await live.next((m) => m.type === 'alarm' && m.deviceId === mine.d.id && !m.alarm.open);
      // The other project's alarm was raised (before ours), and never reached this subscription.
      expect(await alarmsOf(theirs.d.id)).toHaveLength(1);
      expect(live.messages.some((m) => m.type === 'alarm' && m.deviceId === theirs.d.id)).toBe(false);
    } finally {
      live.close();
    }
  });
});

describe('handling alarms', () => {
  it('assigns to a member, comments, clears by hand, and filters by state and severity; another org sees none of it', async () => {
    const b = await device('handled');
    await b.send({ temperature: 20 });
    await api('POST', '/api/v1/alarm-rules', rule({ scope: 'device', scopeId: b.d.id, name: 'handled hot', severity: 'minor' }));
    await b.send({ temperature: 99 });
    const [alarm] = await alarmsOf(b.d.id);
    const me = await s.api.me();
    expect((await api('POST', `/api/v1/alarms/${alarm!.id}/assign`, { assigneeId: me.id })).body).toMatchObject({ assigneeId: me.id });
    expect((await api('POST', `/api/v1/alarms/${alarm!.id}/assign`, { assigneeId: '00000000-0000-4000-8000-000000000000' })).body.error).toMatchObject({
      code: 'USER_NOT_FOUND',
    });
    expect((await api('POST', `/api/v1/alarms/${alarm!.id}/comments`, { comment: 'valve replaced' })).status).toBe(200);
    const cleared = await api('POST', `/api/v1/alarms/${alarm!.id}/clear`, {});
    expect(cleared.body).toMatchObject({ state: 'cleared_unacknowledged', clearedBy: me.id });
    expect((cleared.body.history as Json[]).map((h) => h.action)).toEqual(['raised', 'assigned', 'commented', 'cleared']);
    expect(await alarmsOf(b.d.id, '&severity=minor&state=cleared_unacknowledged')).toHaveLength(1);
    expect(await alarmsOf(b.d.id, '&severity=critical')).toHaveLength(0);
    expect((await api('GET', '/api/v1/alarms?state=bogus')).body.error).toMatchObject({ code: 'VALIDATION_FAILED' });
    const counts = await api('GET', '/api/v1/alarms/counts');
    expect(counts.body).toMatchObject({ open: expect.any(Object), unacknowledged: expect.any(Number) });
  });

  it('counts every occurrence on one open alarm under many parallel publishers of many devices', async () => {
    const fleet = await Promise.all(Array.from({ length: 8 }, (_, i) => device(`parallel-${i}`)));
    for (const f of fleet) await f.send({ load: 1 });
    await api('POST', '/api/v1/alarm-rules', rule({ name: 'overload', key: 'load', condition: { op: '>', value: 50 }, clear: null }));
    await Promise.all(
      fleet.flatMap((f) => Array.from({ length: 25 }, (_, n) => publish(f.mqtt, `devices/${f.d.id}/telemetry`, JSON.stringify({ load: 60 + n })))),
    );
    await until(async () => {
      await s.tether.alarms!.idle();
      const counts = await Promise.all(fleet.map(async (f) => (await alarmsOf(f.d.id)).map((a) => a.count)));
      return counts.every((c) => c.length === 1 && c[0] === 25) ? counts : null;
    });
  });
});
