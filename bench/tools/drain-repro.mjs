/**
 * The external-broker consumer's drain, alone (not a bench scenario): a private Mosquitto on a
 * free port, Tether with MQTT_URL on a fresh PostgreSQL database, N devices made through the
 * API; Tether stopped (or, with DRAIN_ONLINE=1, left running), M QoS 1 messages published to
 * the devices' telemetry topics by the service user, then the committed rate (and the ingest
 * batches) every 2 s until all are committed or DRAIN_MAX_S (120) pass.
 * Usage: node bench/tools/drain-repro.mjs [messages=200000] [devices=1000]
 * Also: DRAIN_WINDOW (the loader's publishes in flight, 500), DRAIN_NODE_ARGS (Node flags for
 * the draining server, e.g. --cpu-prof). Needs `npm run build` and PostgreSQL at
 * BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres).
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { createDatabase } from '../lib/postgres.mjs';
import { createDevices, signIn } from '../lib/provision.mjs';
import { batchStats, freePort, metricSum, startTether } from '../lib/server.mjs';

const TOTAL = Number(process.argv[2] ?? 200_000);
const DEVICES = Number(process.argv[3] ?? 1000);
const SERVICE = { user: 'tether', password: 'bench-broker-password-1' };

async function accepting(port) {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((r) => {
      const s = net.connect(port, '127.0.0.1', () => (s.end(), r(true)));
      s.on('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('mosquitto not accepting');
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-drain-mosquitto-'));
const port = await freePort();
const passwd = path.join(dir, 'passwd');
fs.writeFileSync(passwd, '');
fs.writeFileSync(path.join(dir, 'acl'), `user ${SERVICE.user}\ntopic readwrite devices/#\ntopic readwrite $share/#\n\npattern readwrite devices/%u/#\n`);
fs.writeFileSync(
  path.join(dir, 'mosquitto.conf'),
  [
    `listener ${port} 127.0.0.1`,
    'user root',
    'allow_anonymous false',
    `password_file ${passwd}`,
    `acl_file ${path.join(dir, 'acl')}`,
    'persistence true',
    `persistence_location ${dir}/`,
    'max_queued_messages 10000000',
    '',
  ].join('\n'),
);
execFileSync('mosquitto_passwd', ['-b', passwd, SERVICE.user, SERVICE.password]);
const broker = spawn('/usr/sbin/mosquitto', ['-c', path.join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
await accepting(port);
const url = `mqtt://${SERVICE.user}:${SERVICE.password}@127.0.0.1:${port}`;
const pgdb = await createDatabase('wt_drain_repro');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-drain-data-'));
const nodeArgs = process.env.DRAIN_NODE_ARGS ? process.env.DRAIN_NODE_ARGS.split(' ') : [];
const env = { MQTT_URL: url };
let server;
try {
  server = await startTether({ dataDir, databaseUrl: pgdb.url, env, logLevel: 'info' });
  const api = await signIn(server.httpUrl);
  const prov = await createDevices(api, DEVICES, { name: 'drain' });
  const ONLINE = !!process.env.DRAIN_ONLINE;
  if (!ONLINE) await server.stop();
  console.log(`${DEVICES} devices; Tether ${ONLINE ? 'running' : 'stopped'}; queueing ${TOTAL} messages`);
  // The service user may publish to any device's topic: one loader client.
  const loader = await mqtt.connectAsync(url, { protocolVersion: 5, clientId: 'drain-loader', clean: true });
  let sent = 0;
  let acked = 0;
  const t0 = Date.now();
  await new Promise((resolve) => {
    const pump = () => {
      while (sent < TOTAL && sent - acked < Number(process.env.DRAIN_WINDOW ?? 500)) {
        const d = prov.devices[sent % DEVICES];
        const i = sent++;
        loader.publish(`devices/${d.id}/telemetry`, `{"seq":${i},"temperature":${(i % 50) + 0.5}}`, { qos: 1 }, () => {
          acked++;
          if (acked === TOTAL) resolve();
          else pump();
        });
      }
    };
    pump();
  });
  console.log(`queued ${TOTAL} in ${(Date.now() - t0) / 1000} s`);
  await loader.endAsync();
  if (ONLINE) console.log(`committed at end of load: ${await metricSum(server.httpUrl, 'tether_messages_accepted_total')}`);
  else server = await startTether({ dataDir, databaseUrl: pgdb.url, env, logLevel: 'info', nodeArgs });
  const started = Date.now();
  let last = 0;
  let lastAt = started;
  let since = null;
  while (Date.now() - started < Number(process.env.DRAIN_MAX_S ?? 120) * 1000) {
    await new Promise((r) => setTimeout(r, 2000));
    const n = await metricSum(server.httpUrl, 'tether_messages_accepted_total');
    const now = Date.now();
    const b = await batchStats(server.httpUrl, since).catch(() => null);
    since = b;
    console.log(
      `t=${((now - started) / 1000).toFixed(0)}s committed ${n} (+${Math.round(((n - last) * 1000) / (now - lastAt))}/s) batches ${b?.batches} mean ${b?.meanBatchSize} commit ${b?.meanCommitMs} ms`,
    );
    last = n;
    lastAt = now;
    if (n >= TOTAL) break;
  }
  const n = await metricSum(server.httpUrl, 'tether_messages_accepted_total');
  console.log(`DRAIN: ${n} of ${TOTAL} in ${(Date.now() - started) / 1000} s: ${Math.round((n * 1000) / (Date.now() - started))} msg/s`);
} finally {
  if (server?.alive) {
    fs.writeFileSync(path.join(os.tmpdir(), 'tether-drain-server.log'), server.output());
    await server.stop();
  }
  await pgdb.drop().catch(() => {});
  broker.kill('SIGTERM');
  fs.rmSync(dataDir, { recursive: true, force: true });
  setTimeout(() => fs.rmSync(dir, { recursive: true, force: true }), 500);
}
