/**
 * Scenario 9, cluster (issue 12): two nodes on one PostgreSQL database. The
 * devices publish to node B at scenario 3's rate; a live WebSocket on node A
 * timestamps each telemetry event on arrival, so every event crossed the bus:
 * publish → commit on B → bus → A → dashboard. Run once per bus engine:
 * PostgreSQL LISTEN/NOTIFY (the default), and NATS and Redis where this
 * machine runs them (4222, 6379).
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { meterFor, refreshPostgresPids, withDatabase } from '../lib/context.mjs';
import { forkChild, releaseChild, runPublishers } from '../lib/generators.mjs';
import { memory, round } from '../lib/procstat.mjs';
import { createDevices, signIn } from '../lib/provision.mjs';
import { Histogram } from '../lib/stats.mjs';
import { cpuLine } from '../lib/report.mjs';

const ENGINES = [
  { name: 'postgres', url: null },
  { name: 'nats', url: 'nats://127.0.0.1:4222', port: 4222 },
  { name: 'redis', url: 'redis://127.0.0.1:6379', port: 6379 },
];

const reachable = (port) =>
  new Promise((r) => {
    const s = net.connect(port, '127.0.0.1', () => (s.end(), r(true)));
    s.on('error', () => r(false));
  });

export async function cluster(ctx) {
  const out = {};
  for (const engine of ENGINES) {
    if (engine.port && !(await reachable(engine.port))) {
      console.log(`\n[9] cluster, bus ${engine.name}: nothing listens on ${engine.port}; skipped`);
      continue;
    }
    out[engine.name] = await clusterOn(ctx, engine);
  }
  return { figures: out };
}

async function clusterOn(ctx, engine) {
  const { rate, devices: deviceCount, durationMs, warmupMs, processes } = ctx.cluster;
  console.log(`\n[9] cluster, bus ${engine.name}: ${rate} msg/s from ${deviceCount} devices on node B, a dashboard on node A, ${durationMs / 1000} s`);
  const channel = `bench_${process.pid}_${engine.name}`;
  const env = {
    ...ctx.serverEnv,
    TETHER_JWT_SECRET: 'bench-cluster-secret-of-at-least-32-characters',
    TETHER_BUS_CHANNEL: channel,
    ...(engine.url ? { TETHER_BUS_URL: engine.url } : {}),
  };
  return withDatabase('postgres', { env, nodeArgs: ctx.serverNodeArgs('cluster', 'postgres') }, async ({ pgdb, start }) => {
    const dirs = [0, 1].map(() => fs.mkdtempSync(path.join(os.tmpdir(), 'tether-bench-node-')));
    try {
      const a = await start({ dataDir: dirs[0] });
      const b = await start({ dataDir: dirs[1] });
      const api = await signIn(a.httpUrl);
      const prov = await createDevices(api, deviceCount, { name: 'cluster' });
      const live = forkChild('live-subscriber.mjs');
      try {
        live.child.send({ type: 'start', config: { httpUrl: a.httpUrl, token: api.token, projectId: prov.project.id } });
        await live.waitFor('subscribed', 15_000);
        const cpu = await meterFor(b, pgdb);
        cpu.add('node A', a.pid);
        cpu.add('subscriber', live.pid);
        let peakRssA = 0;
        let peakRssB = 0;
        const sampler = setInterval(() => {
          peakRssA = Math.max(peakRssA, memory(a.pid)?.rss ?? 0);
          peakRssB = Math.max(peakRssB, memory(b.pid)?.rss ?? 0);
          void refreshPostgresPids(cpu, pgdb).catch(() => {});
        }, 1000);
        const startedAt = Date.now();
        const measure = setTimeout(() => live.child.send({ type: 'measure', from: startedAt + warmupMs }), 1000);
        let run;
        try {
          run = await runPublishers({
            devices: prov.devices,
            processes,
            cpu,
            config: { host: b.mqttHost, port: b.mqttPort, auth: true, clientIdPrefix: 'clu', mode: 'rate', rate, inflight: 20, durationMs, drainMs: 10_000 },
          });
        } finally {
          clearInterval(sampler);
          clearTimeout(measure);
        }
        live.child.send({ type: 'stop' });
        const done = await live.waitFor('done', 15_000);
        const cpuUse = cpu.stop();
        const h = Histogram.from(done.latency).summary();
        const seconds = durationMs / 1000;
        const achieved = Math.round(run.totals.ackedInWindow / seconds);
        const metrics = await (await fetch(`${b.httpUrl}/metrics`)).text();
        const sentByB = Number(/^tether_bus_events_total\{direction="sent"\} (\S+)/m.exec(metrics)?.[1] ?? 0);
        const figures = {
          bus: engine.name,
          targetRate: rate,
          achievedMsgPerSec: achieved,
          acked: run.totals.acked,
          liveEventsOnA: done.events,
          liveEventsPerSec: Math.round(done.events / seconds),
          deliveredShare: round(done.events / Math.max(1, run.totals.acked), 4),
          publishToLiveOtherNodeMs: h,
          ackLatencyMs: run.ackLatency,
          busEventsSentByB: sentByB,
          peakRssMB: { a: round(peakRssA / 1e6), b: round(peakRssB / 1e6) },
          durationSeconds: seconds,
          warmupSeconds: warmupMs / 1000,
        };
        console.log(
          `  bus ${engine.name}: ${achieved} msg/s acked on B; ${done.events} live events on A of ${run.totals.acked} acked (${Math.round(100 * figures.deliveredShare)}%); publish → dashboard on the other node p50 ${h.p50} ms, p95 ${h.p95} ms, p99 ${h.p99} ms, max ${h.max} ms`,
        );
        console.log(`  CPU (cores): ${cpuLine(cpuUse)}`);
        return { figures, cpu: cpuUse };
      } finally {
        await releaseChild(live);
      }
    } finally {
      for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    }
  });
}
