/**
 * QoS 1 means durable: every PUBACK a device received before the server was
 * killed hard (SIGKILL, no shutdown hook) is found after a restart.
 */
import { afterAll, expect, it } from 'vitest';
import { TetherClient } from '@tether/api-client';
import { openDatabase, type Database } from '../src/platform/db/database.js';
import { ADMIN, connectMqtt } from './helpers.js';
import { scratchServerEnv, spawnServer } from './process-helpers.js';

const drops: (() => Promise<void>)[] = [];

/** The sequence numbers (`n`) stored as telemetry points and as raw messages, of one device or all. */
async function storedSeqs(db: Database, deviceId?: string) {
  const where = deviceId ? 'AND device_id = $1' : '';
  const args = deviceId ? [deviceId] : [];
  const points = await db.query<{ n: number }>(`SELECT num::int AS n FROM telemetry WHERE key = 'n' ${where}`, args);
  const messages = await db.query<{ n: number }>(`SELECT (payload->>'n')::int AS n FROM messages WHERE channel = 'telemetry' ${where}`, args);
  return { points: new Set(points.map((r) => r.n)), messages: new Set(messages.map((r) => r.n)) };
}
afterAll(async () => {
  for (const d of drops) await d();
});

it('keeps every acknowledged QoS 1 message across a kill -9 and restart', async () => {
  const scratch = await scratchServerEnv();
  drops.push(scratch.drop);
  // One device with thousands of messages in flight: its ingest quota would slow it to 1,000 a second.
  const env = { ...scratch.env, TETHER_INGEST_DEVICE_RATE: '0' };
  const first = await spawnServer(env);
  const api = new TetherClient({ baseUrl: first.httpUrl });
  await api.login(ADMIN.email, ADMIN.password);
  const device = await api.devices.create({ name: 'durable' });

  // Several publishers with many messages in flight, so the kill lands mid-batch.
  const clients = await Promise.all([0, 1, 2, 3].map(() => connectMqtt(first.mqttUrl, { username: device.id, password: device.token })));
  const acked = new Set<number>();
  let seq = 0;
  let killed = false;
  const pump = (c: (typeof clients)[number]) =>
    new Promise<void>((resolve) => {
      const send = () => {
        if (killed) return resolve();
        for (let i = 0; i < 20; i++) {
          const n = seq++;
          c.publish(`devices/${device.id}/telemetry`, JSON.stringify({ n }), { qos: 1 }, (err) => {
            if (!err && !killed) acked.add(n);
          });
        }
        setTimeout(send, 2);
      };
      send();
    });
  const pumps = clients.map(pump);
  await new Promise((r) => setTimeout(r, 1500));
  // Snapshot the acks first, then kill: anything acked by now must survive.
  const ackedBeforeKill = [...acked];
  killed = true;
  first.proc.kill('SIGKILL');
  await first.exited;
  await Promise.all(pumps);
  for (const c of clients) c.end(true);
  expect(ackedBeforeKill.length).toBeGreaterThan(100);

  const second = await spawnServer(env);
  try {
    const api2 = new TetherClient({ baseUrl: second.httpUrl });
    await api2.login(ADMIN.email, ADMIN.password);
    expect((await api2.devices.messages(device.id, { limit: 10 })).items.length).toBe(10);
  } finally {
    second.proc.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }
  // Every acknowledged sequence number must be a telemetry point and a raw message. The payloads
  // carry no ts, as devices send them: many arrive in one millisecond, and each is its own point.
  const db = await openDatabase({ databaseUrl: scratch.url, dataDir: scratch.dataDir });
  try {
    const stored = await storedSeqs(db, device.id);
    expect(ackedBeforeKill.filter((n) => !stored.points.has(n))).toEqual([]);
    expect(ackedBeforeKill.filter((n) => !stored.messages.has(n))).toEqual([]);
    console.log(`durability: ${ackedBeforeKill.length} acked before SIGKILL, ${stored.points.size} points stored, 0 missing`);
  } finally {
    await db.close();
  }
}, 120_000);

it('stops promptly on SIGTERM while devices keep publishing, and stores every message it acknowledged', async () => {
  const scratch = await scratchServerEnv();
  drops.push(scratch.drop);
  // One device with thousands of messages in flight: its ingest quota would slow it to 1,000 a second.
  const env = { ...scratch.env, TETHER_INGEST_DEVICE_RATE: '0' };
  const server = await spawnServer(env);
  const api = new TetherClient({ baseUrl: server.httpUrl });
  await api.login(ADMIN.email, ADMIN.password);
  const devices = await Promise.all(Array.from({ length: 100 }, (_, i) => api.devices.create({ name: `graceful-${i}` })));
  const clients = await Promise.all(devices.map((d) => connectMqtt(server.mqttUrl, { username: d.id, password: d.token })));
  const acked = new Map<string, Set<number>>(devices.map((d) => [d.id, new Set()]));
  let seq = 0;
  let exited = false;
  void server.exited.then(() => (exited = true));
  // The devices never pause: a shutdown that waits for ingest to go idle would wait for ever.
  const pumps = clients.map(
    (c, i) =>
      new Promise<void>((resolve) => {
        const d = devices[i]!;
        c.on('close', () => resolve());
        const send = () => {
          if (exited || !c.connected) return resolve();
          for (let k = 0; k < 5; k++) {
            const n = seq++;
            c.publish(`devices/${d.id}/telemetry`, JSON.stringify({ n }), { qos: 1 }, (err) => {
              if (!err) acked.get(d.id)!.add(n);
            });
          }
          setTimeout(send, 2);
        };
        send();
      }),
  );
  await new Promise((r) => setTimeout(r, 1500));
  const t0 = Date.now();
  server.proc.kill('SIGTERM');
  expect(await server.exited).toBe(0);
  const stopMs = Date.now() - t0;
  await Promise.all(pumps);
  for (const c of clients) c.end(true);
  expect(stopMs).toBeLessThan(10_000);

  const db = await openDatabase({ databaseUrl: scratch.url, dataDir: scratch.dataDir });
  try {
    const stored = await storedSeqs(db);
    const all = [...acked.values()].flatMap((s) => [...s]);
    expect(all.length).toBeGreaterThan(100);
    expect(all.filter((n) => !stored.points.has(n))).toEqual([]);
    expect(all.filter((n) => !stored.messages.has(n))).toEqual([]);
    console.log(`graceful stop: SIGTERM under load → exit 0 in ${stopMs} ms; ${all.length} acked, all stored`);
  } finally {
    await db.close();
  }
}, 120_000);
