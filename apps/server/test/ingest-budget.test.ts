/**
 * The ingest budget (issue 11 §3): uncommitted messages are bounded by a
 * count and bytes, not by devices × their windows. Past the budget an MQTT
 * publish waits for room (so does its PUBACK), an HTTP device post gets 503
 * with Retry-After, and nothing acknowledged is lost.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import { connectMqtt, httpJson, startServer, type TestServer } from './helpers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startServer({ TETHER_INGEST_MAX_PENDING: '16', TETHER_MQTT_RECEIVE_MAXIMUM: '4' });
});
afterAll(async () => {
  await s?.close();
});

async function storedSeqs(deviceId: string): Promise<number[]> {
  const rows = await s.tether.db.query<{ seq: number }>(
    `SELECT (payload->>'seq')::int AS seq FROM messages WHERE device_id = $1 AND channel = 'telemetry' ORDER BY 1`,
    [deviceId],
  );
  return rows.map((x) => Number(x.seq));
}

it('holds an MQTT PUBACK and answers HTTP 503 while the budget is spent, then stores the publish', async () => {
  const d = await s.api.devices.create({ name: 'budget-spent' });
  const c = await connectMqtt(s.mqttUrl, { username: d.id, password: d.token });
  const budget = s.tether.ingest.budget;
  // Sixteen uncommitted messages elsewhere: the budget is spent.
  for (let i = 0; i < 16; i++) expect(budget.tryTake(100)).toBe(true);
  let given = false;
  const giveBack = () => {
    if (given) return;
    given = true;
    for (let i = 0; i < 16; i++) budget.give(100);
  };
  try {
    let acked = false;
    const puback = new Promise<void>((resolve, reject) =>
      c.publish(`devices/${d.id}/telemetry`, JSON.stringify({ temperature: 1, seq: 1 }), { qos: 1 }, (err) =>
        err ? reject(err) : ((acked = true), resolve()),
      ),
    );
    const http = await fetch(`${s.httpUrl}/api/v1/device/telemetry`, {
      method: 'POST',
      headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ temperature: 2, seq: 2 }),
    });
    expect(http.status).toBe(503);
    expect(http.headers.get('retry-after')).toBe('1');
    expect(((await http.json()) as { error: { code: string } }).error.code).toBe('INGEST_OVERLOADED');
    // The server keeps answering, and the publish waits: no PUBACK, nothing stored.
    expect((await fetch(`${s.httpUrl}/healthz`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 500));
    expect(acked).toBe(false);
    expect(budget.waiting).toBe(1);
    expect(await storedSeqs(d.id)).toEqual([]);
    giveBack();
    await puback;
    expect(await storedSeqs(d.id)).toEqual([1]);
    const metrics = await (await fetch(`${s.httpUrl}/metrics`)).text();
    expect(Number(/^tether_ingest_budget_waits_total (\S+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    expect(metrics).toMatch(/^tether_messages_rejected_total\{reason="overloaded",transport="http"\} 1$/m);
  } finally {
    giveBack();
    c.end(true);
  }
});

it('tells MQTT 5 clients the Receive Maximum in the CONNACK', async () => {
  const d = await s.api.devices.create({ name: 'v5' });
  const c = mqtt.connect(s.mqttUrl, { username: d.id, password: d.token, protocolVersion: 5, reconnectPeriod: 0 });
  const connack = await new Promise<{ properties?: { receiveMaximum?: number } }>((resolve, reject) => {
    c.once('connect', (p) => resolve(p as never));
    c.once('error', reject);
  });
  c.end(true);
  expect(connack.properties?.receiveMaximum).toBe(4);
});

it('stores every acknowledged message of devices flooding far past the budget, without ts', async () => {
  const DEVICES = 12;
  const PER_DEVICE = 300;
  const devices = await Promise.all(Array.from({ length: DEVICES }, (_, i) => s.api.devices.create({ name: `flood-${i}` })));
  const clients: MqttClient[] = await Promise.all(devices.map((d) => connectMqtt(s.mqttUrl, { username: d.id, password: d.token })));
  const budget = s.tether.ingest.budget;
  let peakHeld = 0;
  let peakWaiting = 0;
  const sampler = setInterval(() => {
    peakHeld = Math.max(peakHeld, budget.heldMessages);
    peakWaiting = Math.max(peakWaiting, budget.waiting);
  }, 1);
  try {
    // Every publish is sent at once: 3,600 in flight against a budget of 16.
    const acked = await Promise.all(
      clients.map((c, i) =>
        Promise.all(
          Array.from(
            { length: PER_DEVICE },
            (_, k) =>
              new Promise<number>((resolve, reject) =>
                c.publish(
                  `devices/${devices[i]!.id}/telemetry`,
                  JSON.stringify({ temperature: 20, humidity: 40, pressure: 1013, seq: k + 1 }),
                  { qos: 1 },
                  (err) => (err ? reject(err) : resolve(k + 1)),
                ),
              ),
          ),
        ),
      ),
    );
    for (let i = 0; i < DEVICES; i++) {
      expect(acked[i]).toHaveLength(PER_DEVICE);
      expect(await storedSeqs(devices[i]!.id)).toEqual(Array.from({ length: PER_DEVICE }, (_, k) => k + 1));
    }
  } finally {
    clearInterval(sampler);
    for (const c of clients) c.end(true);
  }
  // Bounded: never more than the budget held.
  expect(peakHeld).toBeLessThanOrEqual(16);
  expect(peakHeld).toBeGreaterThan(0);
  // The rest waited unread (publish windows), not parsed in the budget's queue: at most
  // Receive Maximum (4) per connection get there.
  expect(peakWaiting).toBeLessThanOrEqual(DEVICES * 4);
  const info = await httpJson(`${s.httpUrl}/healthz`);
  expect(info.status).toBe(200);
}, 60_000);
