/**
 * Scenario 10, external broker (issue 12 §4): the devices of scenario 1
 * publish to a private Mosquitto 2 (a free port, password file and ACL as the
 * README's "External MQTT broker" says), and Tether consumes it with the
 * ingest role (MQTT_URL, shared subscriptions, PUBACK to the broker after
 * commit). The broker acknowledges the devices, so the figure that counts is
 * Tether's committed rate (tether_messages_accepted_total over the window);
 * run with scenario 1 (`--only 1,10`) to compare with the embedded broker.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { meterFor, refreshPostgresPids, withDatabase } from '../lib/context.mjs';
import { runPublishers, THROUGHPUT_GENERATOR_NICENESS } from '../lib/generators.mjs';
import { memory, round } from '../lib/procstat.mjs';
import { createDevices, signIn } from '../lib/provision.mjs';
import { freePort, metricSum } from '../lib/server.mjs';
import { cpuLine } from '../lib/report.mjs';

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
  throw new Error(`mosquitto does not accept on port ${port}`);
}

async function startMosquitto() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-bench-mosquitto-'));
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
      // Not 0 ("no limit"): Mosquitto 2.0.11 then drops an MQTT 5 client's connection after refusing one of its QoS 1 publishes (README).
      'max_queued_messages 10000000',
      '',
    ].join('\n'),
  );
  execFileSync('mosquitto_passwd', ['-b', passwd, SERVICE.user, SERVICE.password]);
  const proc = spawn('mosquitto', ['-c', path.join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
  await accepting(port);
  return {
    port,
    pid: proc.pid,
    url: `mqtt://${SERVICE.user}:${SERVICE.password}@127.0.0.1:${port}`,
    /** Adds the devices to the password file (hashed by mosquitto_passwd -U) and reloads it. */
    async addDevices(devices) {
      const plain = path.join(dir, 'plain');
      fs.writeFileSync(plain, devices.map((d) => `${d.id}:${d.token}\n`).join(''));
      execFileSync('mosquitto_passwd', ['-U', plain]);
      fs.appendFileSync(passwd, fs.readFileSync(plain));
      proc.kill('SIGHUP');
      await new Promise((r) => setTimeout(r, 500));
    },
    async close() {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function externalBroker(ctx) {
  const { devices: deviceCount, durationMs, inflight, processes } = ctx.ingest('postgres');
  const warmupMs = Math.min(10_000, durationMs / 4);
  console.log(`\n[10] external broker (Mosquitto, MQTT_URL): ${deviceCount} devices, ${durationMs / 1000} s, in-flight window ${inflight}`);
  const broker = await startMosquitto();
  try {
    return await withDatabase(
      'postgres',
      { env: { ...ctx.serverEnv, MQTT_URL: broker.url }, nodeArgs: ctx.serverNodeArgs('external', 'postgres') },
      async ({ pgdb, start }) => {
        const server = await start();
        const api = await signIn(server.httpUrl);
        const prov = await createDevices(api, deviceCount, { name: 'external' });
        await broker.addDevices(prov.devices);
        const cpu = await meterFor(server, pgdb);
        cpu.add('mosquitto', broker.pid);
        let peakRss = 0;
        const sampler = setInterval(() => {
          peakRss = Math.max(peakRss, memory(server.pid)?.rss ?? 0);
          void refreshPostgresPids(cpu, pgdb).catch(() => {});
        }, 1000);
        let atWarmup = null;
        const mark = setTimeout(() => {
          metricSum(server.httpUrl, 'tether_messages_accepted_total').then(
            (n) => (atWarmup = { n, at: Date.now() }),
            () => {},
          );
        }, warmupMs);
        let run;
        let atEnd;
        try {
          run = await runPublishers({
            niceness: THROUGHPUT_GENERATOR_NICENESS,
            devices: prov.devices,
            processes,
            cpu,
            config: { host: '127.0.0.1', port: broker.port, auth: true, clientIdPrefix: 'ext', mode: 'max', inflight, durationMs, drainMs: 60_000 },
            onTick: () => {},
          });
          atEnd = { n: await metricSum(server.httpUrl, 'tether_messages_accepted_total'), at: Date.now() };
        } finally {
          clearInterval(sampler);
          clearTimeout(mark);
        }
        // Everything the broker acknowledged is committed once its queue drains.
        const drainEnd = Date.now() + 120_000;
        let committed = atEnd.n;
        while (committed < run.totals.acked && Date.now() < drainEnd) {
          await new Promise((r) => setTimeout(r, 500));
          committed = await metricSum(server.httpUrl, 'tether_messages_accepted_total');
        }
        const cpuUse = cpu.stop();
        const window = atWarmup ? { n: atEnd.n - atWarmup.n, s: (atEnd.at - atWarmup.at) / 1000 } : { n: atEnd.n, s: durationMs / 1000 };
        const figures = {
          devices: deviceCount,
          inflightPerDevice: inflight,
          durationSeconds: durationMs / 1000,
          committedMsgPerSec: Math.round(window.n / window.s),
          brokerAckedMsgPerSec: Math.round(run.totals.ackedInWindow / (durationMs / 1000)),
          brokerAcked: run.totals.acked,
          committedAfterDrain: committed,
          notCommittedAfterDrain: Math.max(0, run.totals.acked - committed),
          serverPeakRssMB: round(peakRss / 1e6),
          disconnects: run.totals.disconnects,
        };
        console.log(
          `  external: Tether committed ${figures.committedMsgPerSec} msg/s (after a ${warmupMs / 1000} s warm-up); the broker acked devices ${figures.brokerAckedMsgPerSec} msg/s; after the drain ${committed} of ${run.totals.acked} committed`,
        );
        console.log(`  CPU (cores): ${cpuLine(cpuUse)}`);
        return { figures, cpu: cpuUse };
      },
    );
  } finally {
    await broker.close();
  }
}
