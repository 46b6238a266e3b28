/**
 * Live WebSocket hygiene: slow consumers are dropped, dead sockets are found, memory does not
 * grow, and a committed batch goes out in one write.
 */
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DeviceClient } from '@tether/device-sdk';
import { openLive, startServer, type TestServer } from './helpers.js';

let s: TestServer;
beforeAll(async () => {
  // Pings every 3 s: a silent peer is closed 3 to 6 s after it stops answering. The slow
  // consumer fills its buffers in about 3 s here (4.3 s once in CI, under load).
  s = await startServer({ TETHER_LIVE_MAX_BUFFERED_BYTES: String(64 * 1024), TETHER_LIVE_PING_INTERVAL_MS: '3000' });
});
afterAll(async () => s?.close());

/** A metric's value; `name` is a regular expression for the series, labels included. */
async function counter(name: string): Promise<number> {
  const text = await (await fetch(`${s.httpUrl}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? 0);
}
const liveSockets = () => counter('tether_live_sockets');
const dropped = (reason: string) => counter(`tether_live_dropped_total\\{reason="${reason}"\\}`);

async function until(pred: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not met in time');
}

it('drops a subscriber that stops reading instead of buffering for it', async () => {
  const device = await s.api.devices.create({ name: 'chatty' });
  const live = await openLive(s.httpUrl, s.api.token!);
  live.send({ type: 'subscribe', devices: [device.id], channels: ['telemetry'] });
  await live.next((m) => m.type === 'subscribed');
  const healthy = await openLive(s.httpUrl, s.api.token!);
  healthy.send({ type: 'subscribe', devices: [device.id], channels: ['telemetry'] });
  await healthy.next((m) => m.type === 'subscribed');
  expect(await liveSockets()).toBe(2);

  // The slow consumer's TCP socket stops reading.
  (live.ws as unknown as { _socket: { pause(): void } })._socket.pause();
  const dev = await DeviceClient.connect({ url: s.mqttUrl, deviceId: device.id, token: device.token });
  // ~24 KB per event: enough to fill the loopback socket buffers (several MB) and then the 64 KB limit.
  const blob = 'x'.repeat(8000);
  const started = Date.now();
  let last = -1;
  for (let i = 0; i < 1000 && (await liveSockets()) === 2; i += 25) {
    await Promise.all(Array.from({ length: 25 }, (_, k) => dev.sendTelemetry({ a: blob, b: blob, c: blob, i: i + k })));
    last = i + 24;
  }
  await until(async () => (await liveSockets()) === 1, 10_000);
  expect(await dropped('slow_consumer')).toBe(1);
  expect(Date.now() - started).toBeLessThan(8000);
  // The healthy subscriber kept receiving everything.
  await healthy.next((m) => m.type === 'telemetry' && m.points.some((p) => p.key === 'i' && p.value === last));
  await dev.close();
  healthy.close();
  live.ws.terminate();
});

it('finds and closes dead sockets with pings', async () => {
  await until(async () => (await liveSockets()) === 0, 5000);
  const live = await openLive(s.httpUrl, s.api.token!);
  expect(await liveSockets()).toBe(1);
  // A peer that vanished without a FIN: it answers no pings.
  (live.ws as unknown as { _socket: { pause(): void } })._socket.pause();
  await until(async () => (await liveSockets()) === 0, 10_000);
  expect(await dropped('no_pong')).toBeGreaterThanOrEqual(1);
  live.ws.terminate();
});

it('sends the events of one committed batch in one write, every one of them and in order', async () => {
  const device = await s.api.devices.create({ name: 'burst' });
  const live = await openLive(s.httpUrl, s.api.token!);
  live.send({ type: 'subscribe', devices: [device.id], channels: ['telemetry'] });
  await live.next((m) => m.type === 'subscribed');
  // The server runs in this process: count the writes its side of this socket makes.
  const localPort = (live.ws as unknown as { _socket: net.Socket })._socket.localPort;
  let writes = 0;
  const proto = net.Socket.prototype as unknown as Record<'_write' | '_writev', (this: net.Socket, ...a: unknown[]) => void>;
  const original = { _write: proto._write, _writev: proto._writev };
  for (const k of ['_write', '_writev'] as const) {
    proto[k] = function (this: net.Socket, ...a: unknown[]) {
      if (this.remotePort === localPort) writes++;
      return original[k].apply(this, a);
    };
  }
  try {
    const dev = await DeviceClient.connect({ url: s.mqttUrl, deviceId: device.id, token: device.token });
    const batchesBefore = await counter('tether_ingest_batch_size_count');
    const N = 50;
    await Promise.all(Array.from({ length: N }, (_, i) => dev.sendTelemetry({ i })));
    await until(async () => live.messages.filter((m) => m.type === 'telemetry').length === N, 5000);
    const batches = (await counter('tether_ingest_batch_size_count')) - batchesBefore;
    const received = live.messages.flatMap((m) => (m.type === 'telemetry' ? m.points.filter((p) => p.key === 'i').map((p) => p.value) : []));
    expect(received).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(batches).toBeLessThan(N / 5);
    // One write per committed batch, not one per event.
    expect(writes).toBeLessThanOrEqual(batches);
    await dev.close();
  } finally {
    Object.assign(proto, original);
    live.close();
  }
});

it('delivers a batch of more events than one write holds to a subscriber that keeps reading', async () => {
  // Several devices at once: one connection is handed a few dozen publishes per read (BoundedReads).
  const devices = await Promise.all(Array.from({ length: 12 }, (_, i) => s.api.devices.create({ name: `bulk-${i}` })));
  const live = await openLive(s.httpUrl, s.api.token!);
  live.send({ type: 'subscribe', devices: devices.map((d) => d.id), channels: ['telemetry'] });
  await live.next((m) => m.type === 'subscribed');
  const devs = await Promise.all(devices.map((d) => DeviceClient.connect({ url: s.mqttUrl, deviceId: d.id, token: d.token })));
  const droppedBefore = await dropped('slow_consumer');
  // Batches of more than 500 messages: more frames than a writev takes at once (IOV_MAX, 1,024 buffers: 512 frames).
  const bigBatches = async () => (await counter('tether_ingest_batch_size_count')) - (await counter('tether_ingest_batch_size_bucket\\{le="500"\\}'));
  const bigBefore = await bigBatches();
  const N = 3000;
  await Promise.all(Array.from({ length: N }, (_, i) => devs[i % devs.length]!.sendTelemetry({ i })));
  expect((await bigBatches()) - bigBefore).toBeGreaterThan(0);
  await until(async () => live.messages.filter((m) => m.type === 'telemetry').length === N, 10_000);
  expect(await dropped('slow_consumer')).toBe(droppedBefore);
  for (const d of devs) await d.close();
  live.close();
});
