/** Commands, configuration and metadata, end to end with real MQTT clients and HTTP. */
import net from 'node:net';
import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceClient } from '@tether/device-sdk';
import { TetherClient } from '@tether/api-client';
import { deviceTopic, type CommandMessage } from '@tether/contracts';
import { connectMqtt, httpJson, openLive, startServer, type TestServer } from './helpers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(async () => s?.close());

interface Cmd {
  id: string;
  status: string;
  result: unknown;
  attempts: number;
}
const api = (path: string, init: RequestInit & { token?: string } = {}) => httpJson(`${s.httpUrl}/api/v1${path}`, { token: s.api.token, ...init });
const sendCommand = (deviceId: string, body: unknown, query = '') =>
  api(`/devices/${deviceId}/commands${query}`, { method: 'POST', body: JSON.stringify(body) });

async function until<T>(fn: () => Promise<T | null | undefined | false>, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('commands', () => {
  it('delivers a command queued for an offline device when it reconnects, and records its result', async () => {
    const d = await s.api.devices.create({ name: 'offline-cmd' });
    const created = await sendCommand(d.id, { name: 'reset', params: { hard: true } });
    expect(created).toMatchObject({ status: 201, body: { status: 'queued', name: 'reset' } });
    const id = created.body.id as string;

    const dev = await DeviceClient.connect({ url: s.mqttUrl, deviceId: d.id, token: d.token });
    const received: CommandMessage[] = [];
    await dev.onCommand((c) => {
      received.push(c);
      return { rebooted: true };
    });
    const done = await until(async () => {
      const r = await api(`/devices/${d.id}/commands/${id}`);
      return r.body.status === 'succeeded' ? (r.body as unknown as Cmd & { deliveredAt: string; sentAt: string; completedAt: string }) : null;
    });
    expect(received.map((c) => c.name)).toEqual(['reset']);
    expect(received[0]!.params).toEqual({ hard: true });
    expect(done.result).toEqual({ rebooted: true });
    expect(done.sentAt && done.deliveredAt && done.completedAt).toBeTruthy();
    await dev.close();
  });

  it('waits for the device’s answer with ?wait=true, and answers 504 with the command tracked when it does not come', async () => {
    const d = await s.api.devices.create({ name: 'two-way' });
    const dev = await DeviceClient.connect({ url: s.mqttUrl, deviceId: d.id, token: d.token });
    await dev.onCommand((c) => ({ echo: c.params }));
    const r = await sendCommand(d.id, { name: 'ping', params: { n: 7 }, timeoutMs: 5000 }, '?wait=true');
    expect(r).toMatchObject({ status: 200, body: { status: 'succeeded', result: { echo: { n: 7 } } } });
    await dev.close();

    const silent = await s.api.devices.create({ name: 'silent' });
    const t = await sendCommand(silent.id, { name: 'ping', timeoutMs: 300 }, '?wait=true');
    expect(t).toMatchObject({ status: 504, body: { error: { code: 'COMMAND_TIMEOUT' }, command: { status: 'queued' } } });
  });

  it('never delivers an expired command', async () => {
    const d = await s.api.devices.create({ name: 'expiring' });
    const r = await sendCommand(d.id, { name: 'reset', expiresAt: new Date(Date.now() + 700).toISOString(), timeoutMs: 200 });
    const id = r.body.id as string;
    await new Promise((res) => setTimeout(res, 900));
    const dev = await DeviceClient.connect({ url: s.mqttUrl, deviceId: d.id, token: d.token });
    const received: string[] = [];
    await dev.onCommand((c) => void received.push(c.id));
    // The expiry job marks it expired; delivery refuses it either way.
    await until(async () => (await api(`/devices/${d.id}/commands/${id}`)).body.status === 'expired', 8000);
    await new Promise((res) => setTimeout(res, 300));
    expect(received).toEqual([]);
    await dev.close();
  });

  it('rejects the result of another device’s command and leaves it untouched', async () => {
    const a = await s.api.devices.create({ name: 'cmd-a' });
    const b = await s.api.devices.create({ name: 'cmd-b' });
    const r = await sendCommand(a.id, { name: 'reset' });
    const id = r.body.id as string;
    const c = await connectMqtt(s.mqttUrl, { username: b.id, password: b.token });
    const closed = new Promise<void>((res) => c.once('close', () => res()));
    c.publish(`devices/${b.id}/commands/${id}/result`, JSON.stringify({ status: 'ok', result: 'forged' }), { qos: 1 });
    await closed;
    const after = await api(`/devices/${a.id}/commands/${id}`);
    expect(after.body).toMatchObject({ status: 'queued', result: null });
    // Over HTTP too.
    const h = await httpJson(`${s.httpUrl}/api/v1/device/commands/${id}/result`, { method: 'POST', token: b.token, body: JSON.stringify({ status: 'ok' }) });
    expect(h).toMatchObject({ status: 404, body: { error: { code: 'COMMAND_NOT_FOUND' } } });
  });

  it('delivers over HTTP by long-poll and takes the result over HTTP', async () => {
    const d = await s.api.devices.create({ name: 'http-cmd' });
    const poll = httpJson(`${s.httpUrl}/api/v1/device/commands?wait=10`, { token: d.token });
    await new Promise((res) => setTimeout(res, 200));
    const created = await sendCommand(d.id, { name: 'buzzer', params: { on: true } });
    const got = await poll;
    expect(got.status).toBe(200);
    const items = got.body.items as { id: string; name: string }[];
    expect(items.map((i) => i.name)).toEqual(['buzzer']);
    expect((await api(`/devices/${d.id}/commands/${created.body.id}`)).body.status).toBe('delivered');
    const res = await httpJson(`${s.httpUrl}/api/v1/device/commands/${items[0]!.id}/result`, {
      method: 'POST',
      token: d.token,
      body: JSON.stringify({ status: 'error', error: 'buzzer jammed' }),
    });
    expect(res).toMatchObject({ status: 200, body: { status: 'failed', error: 'buzzer jammed' } });
  });

  it('lets an operator send and cancel, not a viewer; audits who did it; streams state changes live', async () => {
    const d = await s.api.devices.create({ name: 'roles-cmd' });
    await s.api.users.create({ email: 'viewer-cmd@x.test', password: 'viewer-pw-1', role: 'viewer' });
    await s.api.users.create({ email: 'op-cmd@x.test', password: 'operator-pw-1', role: 'operator' });
    const viewer = new TetherClient({ baseUrl: s.httpUrl });
    await viewer.login('viewer-cmd@x.test', 'viewer-pw-1');
    const op = new TetherClient({ baseUrl: s.httpUrl });
    await op.login('op-cmd@x.test', 'operator-pw-1');
    const live = await openLive(s.httpUrl, op.token!);
    live.send({ type: 'subscribe', devices: [d.id], channels: ['commands'] });
    await live.next((m) => m.type === 'subscribed');

    expect((await httpJson(`${s.httpUrl}/api/v1/devices/${d.id}/commands`, { method: 'POST', token: viewer.token, body: '{"name":"reset"}' })).status).toBe(
      403,
    );
    const r = await httpJson(`${s.httpUrl}/api/v1/devices/${d.id}/commands`, { method: 'POST', token: op.token, body: '{"name":"reset"}' });
    expect(r.status).toBe(201);
    await live.next((m) => m.type === 'command' && m.command.status === 'queued');
    expect((await httpJson(`${s.httpUrl}/api/v1/devices/${d.id}/commands/${r.body.id}`, { method: 'DELETE', token: viewer.token })).status).toBe(403);
    const cancel = await httpJson(`${s.httpUrl}/api/v1/devices/${d.id}/commands/${r.body.id}`, { method: 'DELETE', token: op.token });
    expect(cancel).toMatchObject({ status: 200, body: { status: 'cancelled' } });
    await live.next((m) => m.type === 'command' && m.command.status === 'cancelled');
    expect((await httpJson(`${s.httpUrl}/api/v1/devices/${d.id}/commands/${r.body.id}`, { method: 'DELETE', token: op.token })).body.error?.code).toBe(
      'COMMAND_NOT_CANCELLABLE',
    );
    const audit = await s.tether.db.query<{ action: string; actor_kind: string }>(
      "SELECT action, actor_kind FROM audit_log WHERE target_id = $1 AND action LIKE 'command.%' ORDER BY created_at",
      [d.id],
    );
    expect(audit.map((a) => a.action)).toEqual(['command.create', 'command.cancel']);
    live.close();
  });

  it('accepts only the commands of the device’s template, with valid params', async () => {
    const t = await api('/templates', {
      method: 'POST',
      body: JSON.stringify({
        name: 'Boiler',
        telemetry: [{ name: 'temperature', unit: '°C', type: 'number', min: 0, max: 120 }],
        commands: [{ name: 'setpoint', params: { type: 'object', properties: { value: { type: 'number', minimum: 0, maximum: 90 } }, required: ['value'] } }],
      }),
    });
    expect(t.status).toBe(201);
    const d = await s.api.devices.create({ name: 'templated', templateId: t.body.id as string });
    expect(d.templateId).toBe(t.body.id);
    expect((await sendCommand(d.id, { name: 'reset' })).body.error?.code).toBe('COMMAND_NOT_IN_TEMPLATE');
    expect((await sendCommand(d.id, { name: 'setpoint', params: { value: 200 } })).body.error?.code).toBe('VALIDATION_FAILED');
    expect((await sendCommand(d.id, { name: 'setpoint', params: { value: 55 } })).status).toBe(201);
  });
});

describe('configuration', () => {
  it('resolves device → project → org, saying where each value comes from (table-driven)', async () => {
    const p = await s.api.projects.create({ name: 'Config priority' });
    const d = await s.api.devices.create({ name: 'cfg-priority', projectId: p.id });
    const set = (path: string, key: string, value: unknown) => api(`${path}/${key}`, { method: 'PUT', body: JSON.stringify({ value }) });
    const cases: { org?: unknown; project?: unknown; device?: unknown; expect: { value: unknown; source: string } | null }[] = [
      { org: 1, expect: { value: 1, source: 'org' } },
      { org: 1, project: 2, expect: { value: 2, source: 'project' } },
      { org: 1, project: 2, device: 3, expect: { value: 3, source: 'device' } },
      { project: 2, device: { nested: true }, expect: { value: { nested: true }, source: 'device' } },
      { org: 'o', device: 3, expect: { value: 3, source: 'device' } },
      { expect: null },
    ];
    for (const [i, c] of cases.entries()) {
      const key = `k${i}`;
      if (c.org !== undefined) expect((await set('/org/config', key, c.org)).status).toBe(204);
      if (c.project !== undefined) expect((await set(`/projects/${p.id}/config`, key, c.project)).status).toBe(204);
      if (c.device !== undefined) expect((await set(`/devices/${d.id}/config`, key, c.device)).status).toBe(204);
      const resolved = (await api(`/devices/${d.id}/config`)).body.values as Record<string, { value: unknown; source: string }>;
      if (c.expect) expect(resolved[key]).toMatchObject(c.expect);
      else expect(resolved[key]).toBeUndefined();
    }
    // Removing the device value falls back to the project's.
    expect((await api(`/devices/${d.id}/config/k2`, { method: 'DELETE' })).status).toBe(204);
    expect(((await api(`/devices/${d.id}/config`)).body.values as Record<string, unknown>).k2).toMatchObject({ value: 2, source: 'project' });
  });

  it('lets an HTTP device read its own resolved configuration, and only its own', async () => {
    const p = await s.api.projects.create({ name: 'HTTP config' });
    const a = await s.api.devices.create({ name: 'cfg-http-a', projectId: p.id });
    const b = await s.api.devices.create({ name: 'cfg-http-b' });
    await api(`/projects/${p.id}/config/reportIntervalMs`, { method: 'PUT', body: JSON.stringify({ value: 60_000 }) });
    await api(`/devices/${a.id}/config/mode`, { method: 'PUT', body: JSON.stringify({ value: 'eco' }) });
    const mine = await httpJson(`${s.httpUrl}/api/v1/device/config`, { token: a.token });
    expect(mine.status).toBe(200);
    expect(mine.body).toMatchObject({ reportIntervalMs: 60_000, mode: 'eco' });
    const other = await httpJson(`${s.httpUrl}/api/v1/device/config`, { token: b.token });
    expect(other.body.mode).toBeUndefined();
    expect(other.body.reportIntervalMs).toBeUndefined();
    expect((await httpJson(`${s.httpUrl}/api/v1/device/config`, { token: 'dt_wrong' })).body.error?.code).toBe('UNAUTHORIZED');
    expect((await httpJson(`${s.httpUrl}/api/v1/device/config`)).status).toBe(401);
  });

  it('pushes a change to a connected device within a second, and gives a reconnecting device its config at once', async () => {
    const d = await s.api.devices.create({ name: 'cfg-push' });
    const dev = await DeviceClient.connect({ url: s.mqttUrl, deviceId: d.id, token: d.token });
    const seen: Record<string, unknown>[] = [];
    await dev.onConfig((c) => seen.push(c));
    const t0 = Date.now();
    await api(`/devices/${d.id}/config/reportIntervalMs`, { method: 'PUT', body: JSON.stringify({ value: 5000 }) });
    await until(async () => seen.some((c) => c.reportIntervalMs === 5000), 1000);
    expect(Date.now() - t0).toBeLessThan(1000);
    await dev.close();

    await api(`/devices/${d.id}/config/reportIntervalMs`, { method: 'PUT', body: JSON.stringify({ value: 250 }) });
    const again = await DeviceClient.connect({ url: s.mqttUrl, deviceId: d.id, token: d.token });
    const seen2: Record<string, unknown>[] = [];
    const t1 = Date.now();
    await again.onConfig((c) => seen2.push(c));
    await until(async () => seen2.some((c) => c.reportIntervalMs === 250), 1000);
    expect(Date.now() - t1).toBeLessThan(1000);
    await again.close();
  });

  it('forgets a deleted device’s retained config in the broker', async () => {
    const d = await s.api.devices.create({ name: 'cfg-deleted' });
    const topic = deviceTopic.config(d.id);
    // Aedes' own retained store: what a subscriber to the topic would be sent.
    const store = (s.tether.broker!.aedes as unknown as { persistence: { createRetainedStream(pattern: string): AsyncIterable<{ topic: string }> } })
      .persistence;
    const retained = async () => {
      const found: string[] = [];
      for await (const p of store.createRetainedStream(topic)) found.push(p.topic);
      return found;
    };
    // The broker keeps a device's configuration once the device has subscribed to it here.
    const c = await connectMqtt(s.mqttUrl, { username: d.id, password: d.token });
    await c.subscribeAsync(topic, { qos: 1 });
    await api(`/devices/${d.id}/config/reportIntervalMs`, { method: 'PUT', body: JSON.stringify({ value: 5000 }) });
    await until(async () => (await retained()).length === 1, 1000);
    expect(s.tether.broker!.hasRetained(topic)).toBe(true);
    await c.endAsync();
    expect((await api(`/devices/${d.id}`, { method: 'DELETE' })).status).toBe(204);
    await until(async () => (await retained()).length === 0, 1000);
    expect(s.tether.broker!.hasRetained(topic)).toBe(false);
  });

  it('keeps user settings per user, and lets a viewer read but not change device config', async () => {
    expect((await api('/users/me/config/theme', { method: 'PUT', body: JSON.stringify({ value: 'dark' }) })).status).toBe(204);
    expect((await api('/users/me/config')).body).toEqual({ values: { theme: 'dark' } });
    await s.api.users.create({ email: 'viewer-cfg@x.test', password: 'viewer-pw-1', role: 'viewer' });
    const viewer = new TetherClient({ baseUrl: s.httpUrl });
    await viewer.login('viewer-cfg@x.test', 'viewer-pw-1');
    const d = await s.api.devices.create({ name: 'cfg-viewer' });
    expect((await httpJson(`${s.httpUrl}/api/v1/devices/${d.id}/config`, { token: viewer.token })).status).toBe(200);
    expect((await httpJson(`${s.httpUrl}/api/v1/devices/${d.id}/config/x`, { method: 'PUT', token: viewer.token, body: '{"value":1}' })).status).toBe(403);
    expect((await httpJson(`${s.httpUrl}/api/v1/users/me/config`, { token: viewer.token })).body).toEqual({ values: {} });
  });
});

describe('metadata', () => {
  it('stores searchable properties and authored notes on devices, streams and projects', async () => {
    const p = await s.api.projects.create({ name: 'Meta' });
    const d = await s.api.devices.create({ name: 'meta-dev', projectId: p.id });
    expect((await api(`/devices/${d.id}/properties/location`, { method: 'PUT', body: JSON.stringify({ value: 'Building 7' }) })).status).toBe(200);
    await api(`/projects/${p.id}/properties/location`, { method: 'PUT', body: JSON.stringify({ value: 'Campus' }) });
    const found = await api('/properties?name=location&value=Building*');
    expect(found.body.items).toEqual([{ entityKind: 'device', entityId: d.id, name: 'location', value: 'Building 7' }]);
    const note = await api(`/devices/${d.id}/notes`, { method: 'POST', body: JSON.stringify({ body: 'Replaced the pump' }) });
    expect(note).toMatchObject({ status: 201, body: { body: 'Replaced the pump', author: { name: 'Admin' } } });
    await api(`/devices/${d.id}/notes`, { method: 'POST', body: JSON.stringify({ body: 'Sensor drift after 14:00', streamKey: 'temperature' }) });
    const notes = await api(`/devices/${d.id}/notes`);
    expect((notes.body.items as { body: string }[]).map((n) => n.body)).toEqual(['Sensor drift after 14:00', 'Replaced the pump']);
    const stream = await api(`/devices/${d.id}/notes?streamKey=temperature`);
    expect(stream.body.items).toHaveLength(1);
    expect((await api(`/notes/${note.body.id}`, { method: 'DELETE' })).status).toBe(204);
  });

  it('uploads a device photo and serves it with its content type, within a size limit', async () => {
    const d = await s.api.devices.create({ name: 'photo-dev' });
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
    const put = await fetch(`${s.httpUrl}/api/v1/devices/${d.id}/photo`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${s.api.token}`, 'content-type': 'image/png' },
      body: png,
    });
    expect(put.status).toBe(204);
    const get = await fetch(`${s.httpUrl}/api/v1/devices/${d.id}/photo`, { headers: { authorization: `Bearer ${s.api.token}` } });
    expect(get.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await get.arrayBuffer()).equals(png)).toBe(true);
    expect((await s.api.devices.get(d.id)).photoUrl).toBe(`/api/v1/devices/${d.id}/photo`);
    const big = await fetch(`${s.httpUrl}/api/v1/devices/${d.id}/photo`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${s.api.token}`, 'content-type': 'image/png' },
      body: Buffer.alloc(6 * 1024 * 1024),
    });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { message: string } }).error.message).toContain(String(5 * 1024 * 1024));
    const text = await fetch(`${s.httpUrl}/api/v1/devices/${d.id}/photo`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${s.api.token}`, 'content-type': 'text/plain' },
      body: 'x',
    });
    expect(text.status).toBe(415);
    expect(get.headers.get('x-content-type-options')).toBe('nosniff');
    // The bytes decide: an HTML page sent as image/jpeg, or a PNG sent as JPEG, is refused and the photo kept.
    const put415 = (type: string, body: Buffer | string) =>
      fetch(`${s.httpUrl}/api/v1/devices/${d.id}/photo`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${s.api.token}`, 'content-type': type },
        body,
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as { error: { code: string; message: string } } }));
    const html = await put415('image/jpeg', '<html><script>alert(1)</script></html>');
    expect(html.status).toBe(415);
    expect(html.body.error.message).toContain('not a image/jpeg image');
    const mislabelled = await put415('image/jpeg', png);
    expect(mislabelled.body.error.message).toContain('the bytes are image/png');
    const still = await fetch(`${s.httpUrl}/api/v1/devices/${d.id}/photo`, { headers: { authorization: `Bearer ${s.api.token}` } });
    expect(Buffer.from(await still.arrayBuffer()).equals(png)).toBe(true);
  });
});

/**
 * A bare MQTT client on mqtt-packet: it reads every PUBLISH but PUBACKs only from the
 * `ackFrom`-th one on (never, with Infinity), as a device that lost them would (mqtt.js
 * cannot skip an ack and go on reading).
 */
async function bareSubscriber(d: { id: string; token: string }, ackFrom: number) {
  const url = new URL(s.mqttUrl);
  const socket = net.connect(Number(url.port), url.hostname);
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const seen: string[] = [];
  const write = (packet: object) => socket.write(mqttPacket.generate(packet as never));
  const ready = new Promise<void>((resolve) => {
    parser.on('packet', (p: { cmd: string; topic?: string; messageId?: number }) => {
      if (p.cmd === 'suback') resolve();
      if (p.cmd === 'publish') {
        seen.push(p.topic!);
        if (seen.length >= ackFrom) write({ cmd: 'puback', messageId: p.messageId });
      }
    });
  });
  socket.on('data', (buf) => parser.parse(buf));
  write({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: true,
    clientId: `bare-${d.id}`,
    keepalive: 30,
    username: d.id,
    password: Buffer.from(d.token),
  });
  write({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `devices/${d.id}/commands/+`, qos: 1 }] });
  await ready;
  return { seen, close: () => socket.destroy() };
}

const commandOf = async (deviceId: string, id: string) => (await api(`/devices/${deviceId}/commands/${id}`)).body as unknown as Cmd & { error: string | null };

describe('retries and timeouts', () => {
  it('resends a command the device did not acknowledge within its timeout, as its retry policy allows', async () => {
    const d = await s.api.devices.create({ name: 'retry-cmd' });
    const dev = await bareSubscriber(d, 2);
    const r = await sendCommand(d.id, { name: 'reset', timeoutMs: 500, retries: 2 });
    const id = r.body.id as string;
    const delivered = await until(async () => {
      const cmd = await commandOf(d.id, id);
      return cmd.status === 'delivered' ? cmd : null;
    }, 10_000);
    expect(dev.seen.length).toBeGreaterThanOrEqual(2);
    expect(delivered.attempts).toBeGreaterThanOrEqual(2);
    dev.close();
  });

  it('ends timed-out once the retries are used up without a PUBACK, sending once per attempt', async () => {
    const d = await s.api.devices.create({ name: 'never-acks' });
    const dev = await bareSubscriber(d, Infinity);
    const id = (await sendCommand(d.id, { name: 'reset', timeoutMs: 500, retries: 1 })).body.id as string;
    const done = await until(async () => {
      const cmd = await commandOf(d.id, id);
      return cmd.status === 'timed-out' ? cmd : null;
    }, 20_000);
    expect(done.attempts).toBe(2);
    expect(done.error).toContain('no PUBACK after 2 attempt(s)');
    // At most once per attempt, even with the checks of every send pending.
    await new Promise((r) => setTimeout(r, 1500));
    expect(dev.seen.length).toBe(2);
    dev.close();
  });

  it('ends timed-out when the device acknowledges but never answers', async () => {
    const d = await s.api.devices.create({ name: 'never-answers' });
    const c = await connectMqtt(s.mqttUrl, { username: d.id, password: d.token });
    await c.subscribeAsync(`devices/${d.id}/commands/+`, { qos: 1 });
    const id = (await sendCommand(d.id, { name: 'reset', timeoutMs: 500 })).body.id as string;
    const done = await until(async () => {
      const cmd = await commandOf(d.id, id);
      return cmd.status === 'timed-out' ? cmd : null;
    }, 20_000);
    expect(done.error).toContain('delivered, but no result within 500 ms');
    // A late answer to a finished command is refused; the state stays.
    const late = await httpJson(`${s.httpUrl}/api/v1/device/commands/${id}/result`, { method: 'POST', token: d.token, body: JSON.stringify({ status: 'ok' }) });
    expect(late.status).toBe(400);
    expect((await commandOf(d.id, id)).status).toBe('timed-out');
    c.end(true);
  });
});

describe('roles on every new endpoint', () => {
  it('a viewer can read but not change; the least role that may change can', async () => {
    const p = await s.api.projects.create({ name: 'Role checks' });
    const d = await s.api.devices.create({ name: 'role-dev', projectId: p.id });
    for (const [email, role] of [
      ['viewer-roles@x.test', 'viewer'],
      ['operator-roles@x.test', 'operator'],
    ] as const) {
      await s.api.users.create({ email, password: 'role-password-1', role });
    }
    const login = async (email: string) => {
      const c = new TetherClient({ baseUrl: s.httpUrl });
      await c.login(email, 'role-password-1');
      return c.token!;
    };
    const tokens = { viewer: await login('viewer-roles@x.test'), operator: await login('operator-roles@x.test'), admin: s.api.token! };
    const template = await api('/templates', { method: 'POST', body: JSON.stringify({ name: 'Role template' }) });
    const note = await api(`/devices/${d.id}/notes`, { method: 'POST', body: JSON.stringify({ body: 'admin note' }) });

    const cases: { method: string; path: string; body?: unknown; least: 'operator' | 'admin' }[] = [
      { method: 'POST', path: `/devices/${d.id}/commands`, body: { name: 'reset' }, least: 'operator' },
      { method: 'PUT', path: `/devices/${d.id}/config/a`, body: { value: 1 }, least: 'operator' },
      { method: 'PUT', path: `/projects/${p.id}/config/a`, body: { value: 1 }, least: 'operator' },
      { method: 'PUT', path: '/org/config/a', body: { value: 1 }, least: 'operator' },
      { method: 'PUT', path: `/devices/${d.id}/properties/site`, body: { value: 'x' }, least: 'operator' },
      { method: 'PUT', path: `/projects/${p.id}/properties/site`, body: { value: 'x' }, least: 'operator' },
      { method: 'POST', path: `/devices/${d.id}/notes`, body: { body: 'n' }, least: 'operator' },
      { method: 'POST', path: `/projects/${p.id}/notes`, body: { body: 'n' }, least: 'operator' },
      { method: 'DELETE', path: `/notes/${note.body.id}`, least: 'admin' },
      { method: 'POST', path: '/templates', body: { name: 'by-role' }, least: 'admin' },
      { method: 'PATCH', path: `/templates/${template.body.id}`, body: { description: 'x' }, least: 'admin' },
    ];
    const ranks = ['viewer', 'operator', 'admin'] as const;
    for (const c of cases) {
      for (const role of ranks) {
        if (ranks.indexOf(role) >= ranks.indexOf(c.least)) continue;
        const r = await httpJson(`${s.httpUrl}/api/v1${c.path}`, {
          method: c.method,
          token: tokens[role],
          body: c.body === undefined ? undefined : JSON.stringify(c.body),
        });
        expect({ op: `${c.method} ${c.path}`, role, status: r.status, code: r.body.error?.code }).toEqual({
          op: `${c.method} ${c.path}`,
          role,
          status: 403,
          code: 'FORBIDDEN',
        });
      }
      const ok = await httpJson(`${s.httpUrl}/api/v1${c.path}`, {
        method: c.method,
        token: tokens[c.least],
        body: c.body === undefined ? undefined : JSON.stringify(c.body),
      });
      expect(ok.status, `${c.method} ${c.path} as ${c.least}`).toBeLessThan(300);
    }
    // Reads are open to a viewer.
    for (const path of [
      `/devices/${d.id}/commands`,
      `/devices/${d.id}/config`,
      `/devices/${d.id}/properties`,
      `/devices/${d.id}/notes`,
      '/templates',
      `/projects/${p.id}/config`,
    ]) {
      expect((await httpJson(`${s.httpUrl}/api/v1${path}`, { token: tokens.viewer })).status, path).toBe(200);
    }
    const photo = await fetch(`${s.httpUrl}/api/v1/devices/${d.id}/photo`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${tokens.viewer}`, 'content-type': 'image/png' },
      body: Buffer.from('89504e47', 'hex'),
    });
    expect(photo.status).toBe(403);
  });
});
