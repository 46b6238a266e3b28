/**
 * Issue 20 §5, MQTT limits through the real server: a packet past the Maximum
 * Packet Size is dropped from its header, before its body is buffered; sockets
 * that never sign in are capped per IP; an optional cap on every connection
 * per IP. Each cap frees its slot again when a connection signs in or closes.
 */
import net from 'node:net';
import mqtt from 'mqtt';
import { generate } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, httpJson, startServer, type TestServer } from './helpers.js';

function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** A raw TCP socket to the broker; resolves once connected. */
function rawSocket(url: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(portOf(url), '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves with how long the peer took to close the socket, or null if it stayed open for `ms`. */
function closedWithin(s: net.Socket, ms: number): Promise<number | null> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    if (s.destroyed) return resolve(0);
    const timer = setTimeout(() => resolve(null), ms);
    s.on('error', () => {});
    s.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - t0);
    });
  });
}

async function refusedCount(s: TestServer, reason: string): Promise<number> {
  const text = await (await fetch(`${s.httpUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`tether_mqtt_connections_refused_total{reason="${reason}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('Maximum Packet Size', () => {
  let s: TestServer;
  beforeAll(async () => {
    // 64 KiB payloads: packets over 128 KiB are dropped unread.
    s = await startServer({ TETHER_MAX_PAYLOAD_BYTES: '65536' });
  });
  afterAll(async () => s?.close());

  it('drops an unauthenticated CONNECT that declares 250 MB while its body is still arriving', async () => {
    const sock = await rawSocket(s.mqttUrl);
    // CONNECT, remaining length 250,000,000 (varint), then 2 MB of its "body": without the
    // limit the broker waits for the rest, buffering, and the socket stays open.
    sock.write(Buffer.from([0x10, 0x80, 0xe5, 0x9a, 0x77]));
    const closed = closedWithin(sock, 5000);
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    for (let i = 0; i < 32 && !sock.destroyed; i++) sock.write(chunk);
    expect(await closed).not.toBeNull();
    expect((await httpJson(`${s.httpUrl}/healthz`)).status).toBe(200);
  });

  it('tells MQTT 5 devices the limit in the CONNACK and disconnects one that sends more with reason 0x95; the device can come back', async () => {
    const d = await s.api.devices.create({ name: 'big-packet' });
    const c = mqtt.connect(s.mqttUrl, { protocolVersion: 5, username: d.id, password: d.token, reconnectPeriod: 0 });
    const connack = await new Promise<{ properties?: { maximumPacketSize?: number } }>((resolve) => c.once('connect', resolve));
    expect(connack.properties?.maximumPacketSize).toBe(65536 + 64 * 1024);
    // mqtt.js itself refuses to send a packet over the advertised maximum, so write one by hand.
    const conn = (c as unknown as { stream: net.Socket }).stream;
    const disconnect = new Promise<number | undefined>((resolve) => c.once('disconnect', (p: { reasonCode?: number }) => resolve(p.reasonCode)));
    const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
    conn.write(
      generate(
        { cmd: 'publish', topic: `devices/${d.id}/telemetry`, payload: Buffer.alloc(200 * 1024, 0x20), qos: 1, messageId: 7, retain: false, dup: false },
        { protocolVersion: 5 },
      ),
    );
    expect(await Promise.race([disconnect, closed.then(() => 'closed without DISCONNECT')])).toBe(0x95);
    await closed;
    c.end(true);
    const again = await connectMqtt(s.mqttUrl, { protocolVersion: 5, username: d.id, password: d.token });
    expect(again.connected).toBe(true);
    again.end(true);
  });
});

describe('connection caps per IP', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer({ TETHER_MQTT_MAX_PENDING_PER_IP: '5', TETHER_MQTT_MAX_CONNECTIONS_PER_IP: '8' });
  });
  afterAll(async () => s?.close());

  it('closes a connection on accept while 5 sockets from its IP have not signed in, and accepts again once they go', async () => {
    const idle = await Promise.all(Array.from({ length: 5 }, () => rawSocket(s.mqttUrl)));
    for (const sock of idle) expect(await closedWithin(sock, 300)).toBeNull();
    const before = await refusedCount(s, 'pending_per_ip');
    const sixth = await rawSocket(s.mqttUrl).catch(() => null);
    if (sixth) expect(await closedWithin(sixth, 2000)).not.toBeNull();
    const d = await s.api.devices.create({ name: 'pending-cap' });
    await expect(connectMqtt(s.mqttUrl, { username: d.id, password: d.token })).rejects.toThrow();
    expect(await refusedCount(s, 'pending_per_ip')).toBeGreaterThanOrEqual(before + 2);
    for (const sock of idle) sock.destroy();
    await new Promise((r) => setTimeout(r, 200));
    const c = await connectMqtt(s.mqttUrl, { username: d.id, password: d.token });
    expect(c.connected).toBe(true);
    c.end(true);
  });

  it('frees the pending slot when a connection signs in: more devices than the pending cap connect one after another', async () => {
    const clients = [];
    for (let i = 0; i < 7; i++) {
      const d = await s.api.devices.create({ name: `signed-in-${i}` });
      clients.push(await connectMqtt(s.mqttUrl, { username: d.id, password: d.token }));
    }
    expect(clients.every((c) => c.connected)).toBe(true);
    // 7 open, the cap on every connection from this IP is 8: one more, then refusals.
    const d = await s.api.devices.create({ name: 'one-more' });
    const eighth = await connectMqtt(s.mqttUrl, { username: d.id, password: d.token });
    const before = await refusedCount(s, 'per_ip');
    await expect(connectMqtt(s.mqttUrl, { username: d.id, password: d.token, clientId: 'ninth' })).rejects.toThrow();
    expect(await refusedCount(s, 'per_ip')).toBe(before + 1);
    clients.pop()!.end(true);
    await new Promise((r) => setTimeout(r, 200));
    const ninth = await connectMqtt(s.mqttUrl, { username: d.id, password: d.token, clientId: 'ninth' });
    expect(ninth.connected).toBe(true);
    for (const c of [...clients, eighth, ninth]) c.end(true);
  });
});
