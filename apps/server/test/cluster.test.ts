/**
 * Issue 12 §5: two `tether start` processes on one PostgreSQL database, each
 * with its own HTTP and MQTT ports, joined by the event bus (LISTEN/NOTIFY on
 * that database, nothing else to run). What one node does, the other sees.
 * PostgreSQL only: PGlite is one process's files.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TetherClient } from '@tether/api-client';
import type { CommandMessage } from '@tether/contracts';
import { ADMIN, connectMqtt, httpJson, openLive, until, usingPostgres } from './helpers.js';
import { freePort } from './private-postgres.js';
import { CLI, scratchServerEnv, spawnServer, type ServerProcess } from './process-helpers.js';

const LEASE_S = 1;
const HAPROXY_CFG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../deploy/haproxy/haproxy.cfg');
const haveHaproxy = spawnSync('haproxy', ['-v']).status === 0;

/** Two nodes on one scratch database: one cluster, one TETHER_JWT_SECRET (README, Security). */
async function startCluster() {
  const scratch = await scratchServerEnv();
  const env = () => ({
    ...scratch.env,
    TETHER_DATA_DIR: fs.mkdtempSync(`${scratch.dataDir}/node-`),
    TETHER_JWT_SECRET: 'a-cluster-secret-of-at-least-32-characters',
    TETHER_PRESENCE_LEASE_S: String(LEASE_S),
    TETHER_MQTT_CONNECTS_PER_DEVICE_PER_MINUTE: '0',
  });
  const [a, b] = await Promise.all([spawnServer(env()), spawnServer(env())]);
  return {
    a: a!,
    b: b!,
    url: scratch.url!,
    async stop() {
      for (const n of [a, b]) n!.proc.kill('SIGKILL');
      await Promise.all([a!.exited, b!.exited]);
      await scratch.drop();
    },
  };
}

describe.skipIf(!usingPostgres)('two nodes on one database', () => {
  let cluster: Awaited<ReturnType<typeof startCluster>>;
  let a: ServerProcess;
  let b: ServerProcess;
  let api: TetherClient;

  beforeAll(async () => {
    cluster = await startCluster();
    ({ a, b } = cluster);
    api = new TetherClient({ baseUrl: a.httpUrl });
    await api.login(ADMIN.email, ADMIN.password);
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('a dashboard on node A receives telemetry published to node B', async () => {
    const d = await api.devices.create({ name: 'seen-across' });
    const live = await openLive(a.httpUrl, api.token!);
    live.send({ type: 'subscribe', devices: [d.id], channels: ['telemetry', 'status'] });
    await live.next((m) => m.type === 'subscribed');
    const device = await connectMqtt(b.mqttUrl, { username: d.id, password: d.token });
    // Node A announces what its dashboards watch; publish until B has heard it.
    let n = 0;
    const got = (async () => {
      for (;;) {
        n++;
        await device.publishAsync(`devices/${d.id}/telemetry`, JSON.stringify({ seq: n, temperature: 20 + n }), { qos: 1 });
        if (live.messages.some((m) => m.type === 'telemetry')) return;
        await new Promise((r) => setTimeout(r, 50));
        if (n > 100) throw new Error('no telemetry from node B reached node A');
      }
    })();
    await got;
    const t = await live.next((m) => m.type === 'telemetry' && m.deviceId === d.id);
    expect(t).toMatchObject({ type: 'telemetry', deviceId: d.id });
    // And its status, which node B's presence published.
    await live.next((m) => m.type === 'status' && m.deviceId === d.id && m.online === true, 5000).catch(() => null);
    live.close();
    await device.endAsync();
  }, 30_000);

  it('a command created on node A reaches the device on node B, and its result comes back to the caller waiting on A', async () => {
    const d = await api.devices.create({ name: 'commanded-across' });
    const device = await connectMqtt(b.mqttUrl, { username: d.id, password: d.token });
    await device.subscribeAsync(`devices/${d.id}/commands/+`, { qos: 1 });
    device.on('message', (topic, payload) => {
      const cmd = JSON.parse(payload.toString()) as CommandMessage;
      if (!topic.endsWith(`/commands/${cmd.id}`)) return;
      void device.publishAsync(`devices/${d.id}/commands/${cmd.id}/result`, JSON.stringify({ status: 'ok', result: { echoed: cmd.params } }), { qos: 1 });
    });
    const started = Date.now();
    const res = await httpJson(`${a.httpUrl}/api/v1/devices/${d.id}/commands?wait=true`, {
      method: 'POST',
      token: api.token!,
      body: JSON.stringify({ name: 'blink', params: { times: 3 }, timeoutMs: 10_000 }),
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'succeeded', result: { echoed: { times: 3 } } });
    // Not by a retry or a timeout: the bus carried it both ways.
    expect(Date.now() - started).toBeLessThan(5000);
    await device.endAsync();
  }, 30_000);

  it('an HTTP device long-polling node B gets a command created on node A at once', async () => {
    const d = await api.devices.create({ name: 'polling-across' });
    const started = Date.now();
    const poll = httpJson(`${b.httpUrl}/api/v1/device/commands?wait=20`, { token: d.token });
    await new Promise((r) => setTimeout(r, 500));
    const created = await httpJson(`${a.httpUrl}/api/v1/devices/${d.id}/commands`, {
      method: 'POST',
      token: api.token!,
      body: JSON.stringify({ name: 'reboot' }),
    });
    expect(created.status).toBe(201);
    const res = await poll;
    expect(res.status).toBe(200);
    expect((res.body.items as { name: string }[]).map((c) => c.name)).toEqual(['reboot']);
    expect(Date.now() - started).toBeLessThan(5000);
  }, 30_000);

  it('a configuration change made on node A reaches the device connected to node B', async () => {
    const d = await api.devices.create({ name: 'configured-across' });
    const device = await connectMqtt(b.mqttUrl, { username: d.id, password: d.token });
    const configs: unknown[] = [];
    device.on('message', (topic, payload) => topic.endsWith('/config') && payload.length && configs.push(JSON.parse(payload.toString())));
    await device.subscribeAsync(`devices/${d.id}/config`, { qos: 1 });
    // Node B answers the subscription with the configuration of now (empty) before the change is made.
    const first = Date.now() + 5000;
    while (!configs.length && Date.now() < first) await new Promise((r) => setTimeout(r, 20));
    expect(configs).toEqual([{}]);
    const res = await httpJson(`${a.httpUrl}/api/v1/devices/${d.id}/config/reportIntervalMs`, { method: 'PUT', token: api.token!, body: '{"value":2500}' });
    expect(res.status).toBe(204);
    const end = Date.now() + 5000;
    while (!configs.some((c) => (c as { reportIntervalMs?: number }).reportIntervalMs === 2500) && Date.now() < end)
      await new Promise((r) => setTimeout(r, 20));
    expect(configs.at(-1)).toEqual({ reportIntervalMs: 2500 });
    await device.endAsync();
  }, 30_000);

  it('credentials revoked on node A: node B refuses the device JWT it had accepted, and drops the device’s MQTT session', async () => {
    const d = await api.devices.create({ name: 'revoked-across' });
    const { token: jwt } = await api.devices.deviceToken(d.id);
    const post = () => httpJson(`${b.httpUrl}/api/v1/device/telemetry`, { method: 'POST', token: jwt, body: '{"temperature":21}' });
    // Accepted on B, and so in B's cache of verified JWTs.
    expect((await post()).status).toBe(202);
    expect((await post()).status).toBe(202);
    const device = await connectMqtt(b.mqttUrl, { username: d.id, password: jwt, reconnectPeriod: 0 });
    const closed = new Promise<void>((r) => device.once('close', () => r()));
    const revokedAt = Date.now();
    expect((await httpJson(`${a.httpUrl}/api/v1/devices/${d.id}/credentials/revoke`, { method: 'POST', token: api.token! })).status).toBe(204);
    let status = 202;
    while (status === 202 && Date.now() - revokedAt < 10_000) {
      status = (await post()).status;
      if (status === 202) await new Promise((r) => setTimeout(r, 20));
    }
    expect(status).toBe(401);
    // Well before the 30 s a cached verification may live without the bus.
    expect(Date.now() - revokedAt).toBeLessThan(3000);
    await closed;
  }, 30_000);

  it('tether admin rotate-jwt-key --drop-old, run beside a running cluster: both nodes refuse earlier tokens at once', async () => {
    const before = api.token!;
    const meOn = async (n: ServerProcess) => (await httpJson(`${n.httpUrl}/api/v1/users/me`, { token: before })).status;
    expect([await meOn(a), await meOn(b)]).toEqual([200, 200]);
    const out = spawnSync(process.execPath, [CLI, 'admin', 'rotate-jwt-key', '--drop-old'], {
      env: { ...process.env, DATABASE_URL: cluster.url, TETHER_JWT_SECRET: 'a-cluster-secret-of-at-least-32-characters', TETHER_LOG_LEVEL: 'warn' },
      encoding: 'utf8',
    });
    expect(out.status, out.stderr).toBe(0);
    expect(out.stdout).toContain('running servers follow now');
    const rotatedAt = Date.now();
    // Without the bus each node reads its keys again only within a minute.
    while ((await meOn(a)) !== 401 || (await meOn(b)) !== 401) {
      expect(Date.now() - rotatedAt, 'both nodes refuse the old token').toBeLessThan(5000);
      await new Promise((r) => setTimeout(r, 50));
    }
    await api.login(ADMIN.email, ADMIN.password);
    expect((await httpJson(`${b.httpUrl}/api/v1/users/me`, { token: api.token! })).status).toBe(200);
  }, 30_000);

  it('alarms across nodes: one device hot on both at once makes one alarm counting every message, raised once, told once; the clear reaches A', async () => {
    const hooks: { event: string; alarmId: string }[] = [];
    const receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const b = JSON.parse(body) as { event: string; alarm?: { id: string } };
        if (b.alarm) hooks.push({ event: b.event, alarmId: b.alarm.id });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    try {
      const adminApi = (method: string, p: string, body?: unknown) =>
        httpJson(`${a.httpUrl}${p}`, { method, token: api.token!, body: body === undefined ? undefined : JSON.stringify(body) });
      const d = await api.devices.create({ name: 'hot-on-both' });
      const send = (node: ServerProcess, values: object) =>
        httpJson(`${node.httpUrl}/api/v1/device/telemetry`, { method: 'POST', token: d.token, body: JSON.stringify(values) });
      expect((await send(b, { temperature: 20 })).status).toBe(202);
      const target = await adminApi('POST', '/api/v1/notification-targets', {
        name: 'cluster hook',
        kind: 'webhook',
        config: { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook` },
      });
      const rule = await adminApi('POST', '/api/v1/alarm-rules', {
        scope: 'device',
        scopeId: d.id,
        name: 'hot on both',
        kind: 'threshold',
        key: 'temperature',
        condition: { op: '>', value: 80 },
        clear: { op: '<', value: 75 },
        severity: 'major',
        message: '{{device.name}} {{value}}',
        notify: [target.body.id],
      });
      expect(rule.status).toBe(201);
      const live = await openLive(a.httpUrl, api.token!);
      live.send({ type: 'subscribe', devices: [d.id], channels: ['alarms'] });
      await live.next((m) => m.type === 'subscribed');
      // 60 hot messages, half to each node, 10 at a time on each: both nodes evaluate and write at once.
      const burst = async (node: ServerProcess, from: number) => {
        for (let i = 0; i < 30; i += 10)
          for (const r of await Promise.all(Array.from({ length: 10 }, (_, k) => send(node, { temperature: 90 + ((from + i + k) % 9) }))))
            expect(r.status).toBe(202);
      };
      await Promise.all([burst(a, 0), burst(b, 30)]);
      const alarms = async () => (await adminApi('GET', `/api/v1/alarms?deviceId=${d.id}`)).body.items as { id: string; count: number; state: string }[];
      const counted = await until(async () => {
        const [x] = await alarms();
        return x && x.count === 60 ? x : null;
      }, 15_000);
      expect(await alarms()).toHaveLength(1);
      const detail = await adminApi('GET', `/api/v1/alarms/${counted.id}`);
      expect((detail.body.history as { action: string }[]).map((h) => h.action)).toEqual(['raised']);
      await live.next((m) => m.type === 'alarm' && m.alarm.id === counted.id && m.alarm.open);
      // Cooled on node B: node A's dashboard hears the clear.
      expect((await send(b, { temperature: 50 })).status).toBe(202);
      await live.next((m) => m.type === 'alarm' && m.alarm.id === counted.id && !m.alarm.open);
      await until(() => hooks.some((h) => h.event === 'alarm.cleared' && h.alarmId === counted.id), 15_000);
      // Both nodes run the outbox: each event was told once.
      await new Promise((r) => setTimeout(r, 1000));
      expect(hooks.filter((h) => h.alarmId === counted.id).map((h) => h.event)).toEqual(['alarm.raised', 'alarm.cleared']);
      live.close();
    } finally {
      receiver.closeAllConnections();
      await new Promise((r) => receiver.close(r));
    }
  }, 60_000);

  it('node B killed: its devices go offline within two leases, as seen from node A', async () => {
    const d = await api.devices.create({ name: 'orphaned' });
    const device = await connectMqtt(b.mqttUrl, { username: d.id, password: d.token, reconnectPeriod: 0 });
    const end = Date.now() + 5000;
    while (!(await api.devices.get(d.id)).status.online && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    expect((await api.devices.get(d.id)).status.online).toBe(true);
    const live = await openLive(a.httpUrl, api.token!);
    live.send({ type: 'subscribe', devices: [d.id], channels: ['status'] });
    await live.next((m) => m.type === 'subscribed');
    const killedAt = Date.now();
    b.proc.kill('SIGKILL');
    await b.exited;
    const offline = await live.next((m) => m.type === 'status' && m.deviceId === d.id && m.online === false, 15_000);
    expect(offline).toBeTruthy();
    // Two leases, plus one sweep interval and the commit.
    expect(Date.now() - killedAt).toBeLessThan((3 * LEASE_S + 2) * 1000);
    expect((await api.devices.get(d.id)).status.online).toBe(false);
    live.close();
    device.end(true);
  }, 30_000);
});

// .ci/run installs haproxy and sets TETHER_TEST_REQUIRE_HAPROXY: there a missing one fails the test, not skips it.
describe.skipIf(!usingPostgres || (!haveHaproxy && !process.env.TETHER_TEST_REQUIRE_HAPROXY))('two nodes behind haproxy (deploy/haproxy/haproxy.cfg)', () => {
  let cluster: Awaited<ReturnType<typeof startCluster>>;
  let haproxy: ChildProcess;
  let lbHttp: string;
  let lbMqtt: string;

  beforeAll(async () => {
    cluster = await startCluster();
    const [httpPort, mqttPort] = [await freePort(), await freePort()];
    const hostPort = (u: string) => new URL(u).host;
    haproxy = spawn('haproxy', ['-f', HAPROXY_CFG, '-db'], {
      env: {
        ...process.env,
        TETHER_LB_HTTP: `127.0.0.1:${httpPort}`,
        TETHER_LB_MQTT: `127.0.0.1:${mqttPort}`,
        TETHER_NODE1_HTTP: hostPort(cluster.a.httpUrl),
        TETHER_NODE2_HTTP: hostPort(cluster.b.httpUrl),
        TETHER_NODE1_MQTT: hostPort(cluster.a.mqttUrl),
        TETHER_NODE2_MQTT: hostPort(cluster.b.mqttUrl),
      },
      stdio: 'ignore',
    });
    lbHttp = `http://127.0.0.1:${httpPort}`;
    lbMqtt = `mqtt://127.0.0.1:${mqttPort}`;
    const end = Date.now() + 15_000;
    while (
      (await fetch(`${lbHttp}/readyz`).then(
        (r) => r.status,
        () => 0,
      )) !== 200
    ) {
      if (Date.now() > end) throw new Error('haproxy did not pass requests on');
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 120_000);

  afterAll(async () => {
    haproxy?.kill('SIGKILL');
    await cluster?.stop();
  });

  it('serves the dashboard, the API and devices through one address; a node killed under load loses no acknowledged message and leaves no ghost online', async () => {
    const api = new TetherClient({ baseUrl: lbHttp });
    await api.login(ADMIN.email, ADMIN.password);
    const devices = [await api.devices.create({ name: 'lb-1' }), await api.devices.create({ name: 'lb-2' })];
    const live = await openLive(lbHttp, api.token!);
    live.send({ type: 'subscribe', devices: devices.map((d) => d.id), channels: ['telemetry'] });
    await live.next((m) => m.type === 'subscribed');
    // haproxy's leastconn puts one device on each node.
    const acked = devices.map(() => new Set<number>());
    const clients = [];
    for (const d of devices) clients.push(await connectMqtt(lbMqtt, { username: d.id, password: d.token, reconnectPeriod: 200, connectTimeout: 5000 }));
    let stop = false;
    const publishers = clients.map(async (c, i) => {
      const d = devices[i]!;
      let seq = 0;
      const inFlight = new Set<Promise<void>>();
      while (!stop) {
        const n = ++seq;
        // As devices send: no ts, a sequence number; 5 publishes in flight.
        const p = c
          .publishAsync(`devices/${d.id}/telemetry`, JSON.stringify({ seq: n, temperature: 20 }), { qos: 1 })
          .then(() => void acked[i]!.add(n))
          .catch(() => {})
          .finally(() => inFlight.delete(p));
        inFlight.add(p);
        if (inFlight.size >= 5) {
          // As firmware does, a publish unanswered for 2 s stops holding a slot: across the
          // reconnect after the kill, mqtt.js may not call back for one it had in flight, and
          // waiting on it would stall this device for good (the suspected cause of a failure
          // seen once in .ci/run: the device of the killed node got too few acks in 20 s).
          await Promise.race([...inFlight, new Promise((r) => setTimeout(r, 2000))]);
          if (inFlight.size >= 5) inFlight.delete(inFlight.values().next().value!);
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      await Promise.race([Promise.all(inFlight), new Promise((r) => setTimeout(r, 5000))]);
    });
    // The dashboard, on whichever node haproxy chose, sees both devices: one of them through the bus.
    for (const d of devices) await live.next((m) => m.type === 'telemetry' && m.deviceId === d.id, 10_000);
    const db = new pg.Client({ connectionString: cluster.url });
    await db.connect();
    try {
      const nodesOf = async () =>
        (
          await db.query<{ connected_node: string | null }>('SELECT connected_node FROM devices WHERE id = ANY($1) ORDER BY name', [devices.map((d) => d.id)])
        ).rows.map((r) => r.connected_node);
      const before = await nodesOf();
      expect(new Set(before).size).toBe(2);
      const ackedBefore = acked.map((s) => s.size);
      cluster.b.proc.kill('SIGKILL');
      await cluster.b.exited;
      // Both devices are acknowledged again: the one that was on node B through node A now.
      const end = Date.now() + 20_000;
      while (acked.some((s, i) => s.size < ackedBefore[i]! + 50) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
      stop = true;
      await Promise.all(publishers);
      for (const c of clients) await c.endAsync();
      expect(acked.map((s, i) => s.size > ackedBefore[i]! + 50)).toEqual([true, true]);
      // Every acknowledged sequence number is stored, on whichever node took it.
      for (const [i, d] of devices.entries()) {
        const stored = new Set(
          (await db.query<{ seq: number }>(`SELECT (payload->>'seq')::int AS seq FROM messages WHERE device_id = $1`, [d.id])).rows.map((r) => r.seq),
        );
        const missing = [...acked[i]!].filter((n) => !stored.has(n));
        expect(missing, `device ${i + 1}: acknowledged and not stored`).toEqual([]);
      }
      // No ghost: once disconnected, both are offline, the one on node B included.
      const offlineBy = Date.now() + (3 * LEASE_S + 5) * 1000;
      let online = [true, true];
      while (online.some(Boolean) && Date.now() < offlineBy) {
        online = (await db.query<{ online: boolean }>('SELECT online FROM devices WHERE id = ANY($1)', [devices.map((d) => d.id)])).rows.map((r) => r.online);
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(online).toEqual([false, false]);
    } finally {
      live.close();
      await db.end();
    }
  }, 90_000);
});
