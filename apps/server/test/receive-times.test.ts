/**
 * Payloads without `ts`, as devices really send them, through the real server:
 * every acknowledged message is stored, however many arrive in one millisecond.
 * Each message carries a sequence number, and every one is looked for.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connectMqtt, httpJson, publishV5, startServer, type TestServer } from './helpers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(async () => {
  await s?.close();
});

/** Publishes every payload at once (QoS 1, all in flight together); resolves when all are acknowledged. */
function burst(client: MqttClient, topic: string, payloads: string[]): Promise<void> {
  return Promise.all(
    payloads.map((p) => new Promise<void>((resolve, reject) => client.publish(topic, p, { qos: 1 }, (err) => (err ? reject(err) : resolve())))),
  ).then(() => {});
}
const seqs = (n: number) => Array.from({ length: n }, (_, i) => i);
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

async function history(deviceId: string, key: string): Promise<number[]> {
  const r = await s.api.devices.telemetry(deviceId, { keys: key, from: new Date(Date.now() - 3600_000).toISOString(), limit: 10_000 });
  return sorted((r.series[key] ?? []).map((p) => p.value as number));
}

describe('messages without ts', () => {
  it('stores all 100 messages of a one-device burst over MQTT, each at its own time', async () => {
    const device = await s.api.devices.create({ name: 'burst' });
    const c = await connectMqtt(s.mqttUrl, { username: device.id, password: device.token });
    await burst(
      c,
      `devices/${device.id}/telemetry`,
      seqs(100).map((seq) => JSON.stringify({ seq, temperature: 20 + seq / 100 })),
    );
    c.end(true);
    expect(await history(device.id, 'seq')).toEqual(seqs(100));
    expect(await history(device.id, 'temperature')).toHaveLength(100);
    const r = await s.api.devices.telemetry(device.id, { keys: 'seq', from: new Date(Date.now() - 3600_000).toISOString(), limit: 10_000 });
    // Received in order: the stored times follow the sequence.
    const bySeq = r.series.seq!.map((p) => ({ seq: p.value as number, ts: Date.parse(p.ts) }));
    bySeq.sort((a, b) => a.seq - b.seq);
    expect(bySeq.every((p, i) => i === 0 || p.ts >= bySeq[i - 1]!.ts)).toBe(true);
  });

  it('pages a capped raw history by its cursor, without losing or repeating points of one millisecond', async () => {
    const device = await s.api.devices.create({ name: 'burst-pages' });
    const c = await connectMqtt(s.mqttUrl, { username: device.id, password: device.token });
    await burst(
      c,
      `devices/${device.id}/telemetry`,
      seqs(100).map((seq) => JSON.stringify({ seq })),
    );
    c.end(true);
    const from = new Date(Date.now() - 3600_000).toISOString();
    const got: number[] = [];
    let before: string | undefined;
    let pages = 0;
    for (;;) {
      const r = await s.api.devices.telemetry(device.id, { keys: 'seq', from, limit: 30, ...(before ? { before } : {}) });
      got.push(...r.series.seq!.map((p) => p.value as number));
      pages++;
      if (!r.truncated?.seq) break;
      expect(r.series.seq).toHaveLength(30);
      before = r.truncated.seq.before;
    }
    expect(pages).toBe(4);
    expect(sorted(got)).toEqual(seqs(100));
    // Uncapped: no cursor.
    expect((await s.api.devices.telemetry(device.id, { keys: 'seq', from })).truncated).toEqual({});
  });

  it('stores every alert, heartbeat and location of a burst, and the ThingsBoard topic too', async () => {
    const device = await s.api.devices.create({ name: 'burst-channels' });
    const c = await connectMqtt(s.mqttUrl, { username: device.id, password: device.token });
    const base = `devices/${device.id}`;
    await Promise.all([
      burst(
        c,
        `${base}/alerts`,
        seqs(50).map((seq) => JSON.stringify({ message: `alert ${seq}`, data: { seq } })),
      ),
      burst(
        c,
        `${base}/heartbeat`,
        seqs(50).map((seq) => JSON.stringify({ uptime: seq })),
      ),
      burst(
        c,
        `${base}/location`,
        seqs(50).map((seq) => JSON.stringify({ lat: 50 + seq / 1000, lon: 4 })),
      ),
    ]);
    c.end(true);
    const tb = await connectMqtt(s.mqttUrl, { username: device.token });
    await burst(
      tb,
      'v1/devices/me/telemetry',
      seqs(50).map((seq) => JSON.stringify({ tb: seq })),
    );
    tb.end(true);

    const alerts = await s.api.alerts.list({ deviceId: device.id, limit: 200 });
    expect(sorted(alerts.items.map((a) => (a.data as { seq: number }).seq))).toEqual(seqs(50));
    const from = new Date(Date.now() - 3600_000).toISOString();
    const hb = await httpJson(`${s.httpUrl}/api/v1/devices/${device.id}/heartbeats?from=${from}&limit=1000`, { token: s.api.token! });
    expect(sorted((hb.body as { items: { uptime: number }[] }).items.map((h) => h.uptime))).toEqual(seqs(50));
    const locs = await s.api.devices.locations(device.id, { from, limit: 1000 });
    expect(sorted(locs.items.map((l) => Math.round((l.lat - 50) * 1000)))).toEqual(seqs(50));
    expect(await history(device.id, 'tb')).toEqual(seqs(50));

    // Capped lists say so, and their cursor pages through a burst of one millisecond without a gap or a repeat.
    const pageAll = async <T>(read: (before?: string) => Promise<{ items: T[]; truncated: { before: string; limit: number } | null }>) => {
      const all: T[] = [];
      let before: string | undefined;
      for (let pages = 1; pages <= 10; pages++) {
        const r = await read(before);
        all.push(...r.items);
        if (!r.truncated) return { all, pages };
        expect(r.truncated.limit).toBe(15);
        expect(r.items).toHaveLength(15);
        before = r.truncated.before;
      }
      throw new Error('the cursor never ended');
    };
    const opt = (before?: string) => (before ? { before } : {});
    const hbPages = await pageAll((before) => s.api.devices.heartbeats(device.id, { from, limit: 15, ...opt(before) }));
    expect(hbPages.pages).toBe(4);
    expect(hbPages.all.map((h) => h.uptime)).toEqual(seqs(50).reverse()); // newest first, each once
    const locPages = await pageAll((before) => s.api.devices.locations(device.id, { from, limit: 15, ...opt(before) }));
    expect(locPages.pages).toBe(4);
    expect(sorted(locPages.all.map((l) => Math.round((l.lat - 50) * 1000)))).toEqual(seqs(50));
    const msgPages = await pageAll((before) => s.api.devices.messages(device.id, { channel: 'heartbeat', limit: 15, ...opt(before) }));
    expect(msgPages.pages).toBe(4);
    expect(msgPages.all.map((m) => (m.payload as { uptime: number }).uptime)).toEqual(seqs(50).reverse());
    expect((await s.api.devices.messages(device.id, { channel: 'heartbeat' })).truncated).toBeNull();
    const tooMany = await httpJson(`${s.httpUrl}/api/v1/devices/${device.id}/messages?limit=1001`, { token: s.api.token! });
    expect(tooMany.status).toBe(400);
  });

  it('stores every one of 50 concurrent HTTP posts of one device', async () => {
    const device = await s.api.devices.create({ name: 'burst-http' });
    const results = await Promise.all(
      seqs(50).map((seq) =>
        seq % 2
          ? httpJson(`${s.httpUrl}/api/v1/device/telemetry`, { method: 'POST', token: device.token, body: JSON.stringify({ seq }) })
          : httpJson(`${s.httpUrl}/api/v1/${device.token}/telemetry`, { method: 'POST', body: JSON.stringify({ seq }) }),
      ),
    );
    expect(results.map((r) => r.status).filter((st) => st >= 300)).toEqual([]);
    expect(await history(device.id, 'seq')).toEqual(seqs(50));
  });

  it('keeps a repeated explicit ts an idempotent replay', async () => {
    const device = await s.api.devices.create({ name: 'replay' });
    const c = await connectMqtt(s.mqttUrl, { username: device.id, password: device.token });
    const ts = Date.now() - 1000;
    await burst(
      c,
      `devices/${device.id}/telemetry`,
      seqs(10).map(() => JSON.stringify({ ts, v: 7 })),
    );
    c.end(true);
    expect(await history(device.id, 'v')).toEqual([7]);
  });
});

describe('alerts: idempotent on (device, type, ts)', () => {
  const postAlert = (token: string, body: string) => httpJson(`${s.httpUrl}/api/v1/device/alerts`, { method: 'POST', token, body });

  it('stores an alert with ts once, however often and however concurrently it is replayed; every copy is acknowledged', async () => {
    const device = await s.api.devices.create({ name: 'alert-replay' });
    const topic = `devices/${device.id}/alerts`;
    const ts = Date.now() - 60_000;
    const gas = JSON.stringify({ message: 'Gas leak', severity: 'critical', type: 'gas', ts });
    const untyped = JSON.stringify({ message: 'Tilt', ts });

    // Three times in a row, over MQTT 5: each PUBACK says success.
    const c5 = await connectMqtt(s.mqttUrl, { username: device.id, password: device.token, protocolVersion: 5 });
    for (let i = 0; i < 3; i++) expect(await publishV5(c5, topic, gas)).toEqual({ reasonCode: 0 });

    // Then all at once: in flight together on three connections and over HTTP.
    const clients = [c5, ...(await Promise.all([1, 2].map(() => connectMqtt(s.mqttUrl, { username: device.id, password: device.token }))))];
    const [, posts] = await Promise.all([
      Promise.all(clients.map((c) => burst(c, topic, [gas, untyped, gas, untyped]))),
      Promise.all([gas, untyped, gas, untyped].map((body) => postAlert(device.token, body))),
    ]);
    for (const c of clients) c.end(true);
    expect(posts.map((r) => r.status)).toEqual([202, 202, 202, 202]);

    const alerts = await s.api.alerts.list({ deviceId: device.id, limit: 200 });
    expect(alerts.items.map((a) => ({ message: a.message, type: a.type, ts: a.ts })).sort((a, b) => a.message.localeCompare(b.message))).toEqual([
      { message: 'Gas leak', type: 'gas', ts: new Date(ts).toISOString() },
      { message: 'Tilt', type: null, ts: new Date(ts).toISOString() },
    ]);
    // Every copy arrived and was acknowledged: the raw message history holds each.
    const history = await s.api.devices.messages(device.id, { channel: 'alerts', limit: 100 });
    expect(history.items).toHaveLength(3 + 3 * 4 + 4);
  });

  it('stores each of 5 identical alerts without ts published in one burst', async () => {
    const device = await s.api.devices.create({ name: 'alert-burst' });
    const c = await connectMqtt(s.mqttUrl, { username: device.id, password: device.token });
    const door = JSON.stringify({ message: 'Door open', type: 'door' });
    await burst(c, `devices/${device.id}/alerts`, [door, door, door, door, door]);
    c.end(true);
    // And over HTTP, concurrently: new rows too.
    const posts = await Promise.all([door, door].map((body) => postAlert(device.token, body)));
    expect(posts.map((r) => r.status)).toEqual([202, 202]);
    const alerts = await s.api.alerts.list({ deviceId: device.id, limit: 200 });
    expect(alerts.items.map((a) => a.message)).toEqual(Array(7).fill('Door open'));
    expect(new Set(alerts.items.map((a) => a.id)).size).toBe(7);
  });
});
