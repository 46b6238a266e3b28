/**
 * Test harness: each test gets its own database (a fresh PGlite data dir, or a
 * fresh database on the server named by DATABASE_URL) and its own free ports.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import mqtt, { type IClientOptions, type MqttClient, type Packet } from 'mqtt';
import WebSocket from 'ws';
import { TetherClient } from '@tether/api-client';
import type { LiveServerMessage } from '@tether/contracts';
import { loadConfig, type TetherConfig } from '../src/config/config.js';
import { createTether, type Tether } from '../src/main.js';
import { openDatabase, type Database } from '../src/platform/db/database.js';
import { migrate } from '../src/platform/db/migrate.js';
import { createLogger, type Logger } from '../src/platform/observability/logger.js';
import type { DeviceIdentity } from '../src/modules/devices/devices.repository.js';
import type { DecodedAlert, DecodedHeartbeat, DecodedLocation, IngestMessage, IngestPoint } from '../src/modules/ingest/ingest-message.js';

export const usingPostgres = !!process.env.DATABASE_URL;
export const ADMIN = { email: 'admin@example.com', password: 'admin-password-1' };

/** A scratch database: PGlite in a temp dir, or CREATE DATABASE on the configured server. */
export async function scratchDatabase(): Promise<{ url: string | null; dataDir: string; drop(): Promise<void> }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-test-'));
  if (!usingPostgres) {
    return { url: null, dataDir, drop: async () => fs.rmSync(dataDir, { recursive: true, force: true }) };
  }
  const base = new URL(process.env.DATABASE_URL!);
  const name = `tether_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base.toString() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(base.toString());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    dataDir,
    async drop() {
      const c = new pg.Client({ connectionString: base.toString() });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A migrated scratch database for repository and service tests. */
export async function testDatabase(): Promise<{ db: Database; close(): Promise<void> }> {
  const scratch = await scratchDatabase();
  const db = await openDatabase({ databaseUrl: scratch.url, dataDir: scratch.dataDir });
  await migrate(db);
  return {
    db,
    async close() {
      await db.close();
      await scratch.drop();
    },
  };
}

export interface TestServer {
  tether: Tether;
  config: TetherConfig;
  httpUrl: string;
  mqttUrl: string;
  wsMqttUrl: string;
  api: TetherClient;
  close(): Promise<void>;
}

/** Starts the real server on free ports, signed in as the first admin. `logger`: to read what the server logs. */
export async function startServer(env: Record<string, string> = {}, opts: { logger?: Logger } = {}): Promise<TestServer> {
  const scratch = await scratchDatabase();
  const config = loadConfig({
    TETHER_HTTP_PORT: '0',
    TETHER_MQTT_PORT: '0',
    TETHER_HTTP_HOST: '127.0.0.1',
    TETHER_MQTT_HOST: '127.0.0.1',
    TETHER_DATA_DIR: scratch.dataDir,
    TETHER_ADMIN_EMAIL: ADMIN.email,
    TETHER_ADMIN_PASSWORD: ADMIN.password,
    TETHER_LOG_LEVEL: process.env.TETHER_TEST_LOG ?? 'silent',
    // Tests sign in many times from one address; the limits have their own test.
    TETHER_LOGIN_LIMIT_PER_IP: '100000',
    TETHER_LOGIN_LIMIT_PER_ACCOUNT: '100000',
    TETHER_MQTT_AUTH_FAILURES_PER_MINUTE: '100000',
    TETHER_MQTT_CONNECTS_PER_DEVICE_PER_MINUTE: '100000',
    ...(scratch.url ? { DATABASE_URL: scratch.url } : {}),
    ...env,
  });
  const tether = await createTether(config, { logger: opts.logger ?? createLogger(config.logLevel), checkResponses: true });
  const urls = await tether.start();
  const api = new TetherClient({ baseUrl: urls.httpUrl! });
  await api.login(ADMIN.email, ADMIN.password);
  return {
    tether,
    config,
    httpUrl: urls.httpUrl!,
    mqttUrl: urls.mqttUrl!,
    wsMqttUrl: urls.wsMqttUrl!,
    api,
    async close() {
      const violations = tether.app?.responseViolations ?? [];
      await tether.stop();
      await scratch.drop();
      // The REST contract: every answer these tests saw matched its route's response schema.
      const lines = [...new Set(violations.map((v) => `  ${v.route} ${v.status}: ${v.problem}`))];
      if (lines.length) throw new Error(`responses that break their schema:\n${lines.join('\n')}`);
    },
  };
}

/** Connects a real mqtt.js client; resolves on CONNACK, rejects on refusal. */
export function connectMqtt(url: string, opts: IClientOptions): Promise<MqttClient> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 4, ...opts });
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
    client.once('close', () => reject(new Error('connection closed before CONNACK')));
  });
}

export function publish(client: MqttClient, topic: string, payload: string | Buffer, qos: 0 | 1 = 1): Promise<void> {
  return new Promise((resolve, reject) => client.publish(topic, payload, { qos }, (err) => (err ? reject(err) : resolve())));
}

/** Publishes at QoS 1 over MQTT 5 and resolves with the PUBACK's reason code and reason string. */
export function publishV5(c: MqttClient, topic: string, payload: string | Buffer): Promise<{ reasonCode: number; reason?: string }> {
  // mqtt.js reports the reason code but not the reason string, so read the PUBACK itself.
  type Ack = Packet & { reasonCode?: number; properties?: { reasonString?: string } };
  let puback: Ack | null = null;
  const onPacket = (p: Packet) => {
    if (p.cmd === 'puback') puback = p;
  };
  c.on('packetreceive', onPacket);
  return new Promise((resolve, reject) => {
    c.publish(topic, payload, { qos: 1 }, (err) => {
      c.off('packetreceive', onPacket);
      const ack = puback as Ack | null;
      if (!ack) return reject(err ?? new Error('no PUBACK'));
      const reason = ack.properties?.reasonString;
      resolve(reason === undefined ? { reasonCode: ack.reasonCode ?? 0 } : { reasonCode: ack.reasonCode ?? 0, reason });
    });
  });
}

/** Resolves when the broker closes the client's connection. */
/** Polls `fn` until it returns something truthy (errors count as not yet), or fails after `ms`. */
export async function until<T>(fn: () => Promise<T | null | undefined | false> | T | null | undefined | false, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await Promise.resolve()
      .then(fn)
      .catch(() => null);
    if (v) return v;
    if (Date.now() > end) throw new Error(`condition not met in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function waitForClose(client: MqttClient, ms = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('connection was not closed')), ms);
    client.once('close', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** A live WebSocket client that records every message. */
export async function openLive(httpUrl: string, token: string) {
  const ws = new WebSocket(`${httpUrl.replace('http', 'ws')}/api/v1/live?token=${encodeURIComponent(token)}`);
  const messages: LiveServerMessage[] = [];
  const waiters: { pred: (m: LiveServerMessage) => boolean; resolve: (m: LiveServerMessage) => void }[] = [];
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString()) as LiveServerMessage;
    messages.push(m);
    for (const w of [...waiters]) {
      if (w.pred(m)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  const next = (pred: (m: LiveServerMessage) => boolean, ms = 5000): Promise<LiveServerMessage> => {
    const found = messages.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('live event did not arrive')), ms);
      waiters.push({
        pred,
        resolve: (m) => {
          clearTimeout(t);
          resolve(m);
        },
      });
    });
  };
  await next((m) => m.type === 'ready' || m.type === 'error');
  return { ws, messages, next, send: (m: unknown) => ws.send(JSON.stringify(m)), close: () => ws.close() };
}

export async function httpJson(url: string, init: RequestInit & { token?: string } = {}) {
  const headers: Record<string, string> = { ...(init.headers as Record<string, string>) };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
  const res = await fetch(url, { ...init, headers });
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  return { status: res.status, body: body as { error?: { code: string; message: string } } & Record<string, unknown> };
}

export const silentLogger = () => createLogger('silent');

type MsTimed<T> = Omit<T, 'stamped'> & { stamped?: boolean };
/** An IngestMessage as a test writes it: times in milliseconds, explicit (not stamped) unless it says so. */
export interface TestMessageParts extends Partial<Omit<IngestMessage, 'telemetry' | 'alert' | 'heartbeat' | 'location'>> {
  telemetry?: MsTimed<IngestPoint>[];
  alert?: MsTimed<DecodedAlert> | null;
  heartbeat?: MsTimed<DecodedHeartbeat> | null;
  location?: MsTimed<DecodedLocation> | null;
}

/** Builds the IngestMessage ingest would: every time in microseconds (ReceiveClock). */
export function testMessage(device: DeviceIdentity, parts: TestMessageParts = {}): IngestMessage {
  const us = <T extends { ts: number; stamped?: boolean }>(x: T) => ({ ...x, stamped: x.stamped ?? false, ts: x.ts * 1000 });
  const { telemetry = [], alert = null, heartbeat = null, location = null, receivedAt = Date.now(), ...rest } = parts;
  return {
    device,
    channel: 'telemetry',
    transport: 'mqtt',
    rawJson: '{}',
    attributes: null,
    ...rest,
    receivedAt: receivedAt * 1000,
    telemetry: telemetry.map(us),
    alert: alert && us(alert),
    heartbeat: heartbeat && us(heartbeat),
    location: location && us(location),
  };
}
