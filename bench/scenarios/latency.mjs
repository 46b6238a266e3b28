/**
 * Scenario 3, latency: devices publish at a fixed total rate; a live WebSocket
 * subscriber timestamps each telemetry event on arrival. The event is sent
 * only after the batch holding the message committed, so this is publish →
 * durable → on a dashboard.
 */
import { setInterval, clearInterval } from 'node:timers';
import { meterFor, refreshPostgresPids, withServer } from '../lib/context.mjs';
import { forkChild, releaseChild, runPublishers } from '../lib/generators.mjs';
import { postgresDataDir, walStats } from '../lib/postgres.mjs';
import { diskStats, memory, round } from '../lib/procstat.mjs';
import { createDevices, signIn } from '../lib/provision.mjs';
import { batchStats } from '../lib/server.mjs';
import { Histogram } from '../lib/stats.mjs';
import { cpuLine } from '../lib/report.mjs';

export async function latency(ctx, db) {
  const { rate, devices: deviceCount, durationMs, warmupMs, processes } = ctx.latency;
  console.log(`\n[3] latency on ${db}: ${rate} msg/s from ${deviceCount} devices for ${durationMs / 1000} s (first ${warmupMs / 1000} s not counted)`);
  return withServer(db, { nodeArgs: ctx.serverNodeArgs('latency', db), env: ctx.serverEnv }, async ({ server, pgdb, dataDir }) => {
    // Commits wait for the disk: its flushes and discards are sampled beside the latencies.
    const diskDir = pgdb ? await postgresDataDir() : dataDir;
    const disk = [];
    const wal = pgdb ? await walStats() : null;
    const api = await signIn(server.httpUrl);
    const prov = await createDevices(api, deviceCount, { name: 'latency' });
    const live = forkChild('live-subscriber.mjs');
    // A subscriber the server closes (a slow consumer, say) receives nothing more: say so.
    let closedBy = null;
    let stopping = false;
    live.child.on('message', (m) => {
      if (m.type === 'closed' && !stopping) closedBy = m.code;
    });
    try {
      live.child.send({ type: 'start', config: { httpUrl: server.httpUrl, token: api.token, projectId: prov.project.id } });
      await live.waitFor('subscribed', 15_000);
      const cpu = await meterFor(server, pgdb);
      cpu.add('subscriber', live.pid);
      let peakRss = 0;
      const sampler = setInterval(() => {
        const at = Date.now();
        const d = diskDir ? diskStats(diskDir) : null;
        if (!wal) {
          if (d) disk.push({ at, ...d });
        } else {
          void wal.read().then(
            (w) => disk.push({ at, ...d, wal: w }),
            () => {},
          );
        }
        peakRss = Math.max(peakRss, memory(server.pid)?.rss ?? 0);
        void refreshPostgresPids(cpu, pgdb).catch(() => {});
      }, 1000);
      const startedAt = Date.now();
      // Latency counts from the end of the warm-up (JIT, first partitions and rollup rows).
      const measure = setInterval(() => {
        if (Date.now() - startedAt >= 1000) {
          live.child.send({ type: 'measure', from: startedAt + warmupMs });
          clearInterval(measure);
        }
      }, 200);
      // The server's own figures cover the same window: counters from here, and the scrape
      // resets the event-loop delay histogram.
      let windowStart = null;
      const snapshot = setTimeout(() => {
        batchStats(server.httpUrl).then(
          (b) => (windowStart = b),
          () => {},
        );
      }, warmupMs);
      let run;
      try {
        run = await runPublishers({
          devices: prov.devices,
          processes,
          cpu,
          config: {
            host: server.mqttHost,
            port: server.mqttPort,
            auth: true,
            clientIdPrefix: 'lat',
            mode: 'rate',
            rate,
            inflight: 20,
            durationMs,
            drainMs: 10_000,
          },
        });
      } finally {
        clearInterval(sampler);
        clearInterval(measure);
        clearTimeout(snapshot);
      }
      stopping = true; // the subscriber closes its socket itself once it has reported
      live.child.send({ type: 'stop' });
      const done = await live.waitFor('done', 15_000);
      const cpuUse = cpu.stop();
      const batches = await batchStats(server.httpUrl, windowStart);
      const h = Histogram.from(done.latency).summary();
      const achieved = Math.round(run.totals.ackedInWindow / (durationMs / 1000));
      const slowest = slowestSeconds(done.perSecondMax, startedAt + warmupMs, disk);
      const walWindow = walOver(disk, startedAt + warmupMs, startedAt + durationMs, achieved);
      const figures = {
        targetRate: rate,
        achievedMsgPerSec: achieved,
        devices: deviceCount,
        durationSeconds: durationMs / 1000,
        warmupSeconds: warmupMs / 1000,
        publishToLiveMs: h,
        slowestPerSecondMs: done.perSecondMax,
        slowestSecondsWithDisk: slowest,
        wal: walWindow,
        ackLatencyMs: run.ackLatency,
        liveEvents: done.events,
        acked: run.totals.acked,
        skippedWindowFull: run.totals.skippedWindow,
        serverPeakRssMB: round(peakRss / 1e6),
        serverWindow: windowStart ? 'after the warm-up' : 'whole run',
        liveSocketClosedWithCode: closedBy,
        ...batches,
      };
      console.log(
        `  ${db}: ${achieved} msg/s; publish → live event p50 ${h.p50} ms, p95 ${h.p95} ms, p99 ${h.p99} ms, max ${h.max} ms (${h.n} events); PUBACK p99 ${run.ackLatency.p99} ms`,
      );
      if (closedBy !== null) console.log(`  the server closed the live socket during the run, with code ${closedBy}`);
      console.log(
        `  batches: ${batches.batches}, mean ${batches.meanBatchSize} messages, mean commit ${batches.meanCommitMs} ms, slower commits ${JSON.stringify(batches.commitsSlowerThan)}; CPU (cores): ${cpuLine(cpuUse)}`,
      );
      console.log(
        `  server side${windowStart ? ' after the warm-up' : ', warm-up included'}: receipt → commit slower than ${JSON.stringify(batches.messagesSlowerThan)} of ${batches.messages} messages; event-loop delay p50 ${batches.eventLoopDelayMs.p50} / p99 ${batches.eventLoopDelayMs.p99} / max ${batches.eventLoopDelayMs.max} ms (10 ms resolution included)`,
      );
      if (walWindow) {
        console.log(
          `  WAL after the warm-up: ${walWindow.bytesPerMessage} bytes per message (${walWindow.fpiPerMessage} full-page images), ${walWindow.syncsPerSecond} flushes/s by sessions, mean flush ${walWindow.meanSyncMs} ms`,
        );
      }
      if (slowest.length) {
        console.log(
          `  slowest seconds, with what the disk did around each (device ${slowest[0].device} flushes/ms, writes/ms, discards/ms${wal ? '; WAL flushes/ms, MB' : ''}): ${slowest
            .map(
              (x) =>
                `${x.second}s ${x.maxMs} ms over ${x.seconds} s (${x.flushes}/${x.flushMs}, ${x.writes}/${x.writeMs}, ${x.discards}/${x.discardMs}${wal ? `; ${x.walSyncs}/${x.walSyncMs}, ${x.walMB}` : ''})`,
            )
            .join('; ')}`,
        );
      }
      return { figures, cpu: cpuUse };
    } finally {
      await releaseChild(live);
      await wal?.close();
    }
  });
}

/**
 * The five seconds with the slowest delivery, each with what the disk did in it
 * (the deltas of the one-second samples around it), to tell a disk stall from CPU.
 */
function slowestSeconds(perSecondMax, from, disk) {
  if (disk.length < 2) return [];
  disk = [...disk].sort((a, b) => a.at - b.at);
  const at = (t) => {
    let best = null;
    for (const d of disk) if (d.at <= t) best = d;
    return best;
  };
  return perSecondMax
    .map((maxMs, second) => ({ second, maxMs }))
    .filter((x) => x.maxMs !== null)
    .sort((a, b) => b.maxMs - a.maxMs)
    .slice(0, 5)
    .map((x) => {
      // A message of second k arrives up to maxMs later: cover its publish and its delivery.
      const a = at(from + x.second * 1000);
      const b = at(from + (x.second + 1) * 1000 + x.maxMs + 1000) ?? disk.at(-1);
      if (!a || !b || a === b) return { ...x, device: b?.device ?? null };
      const delta = (k) => (b[k] ?? 0) - (a[k] ?? 0);
      const walDelta = (k) => (a.wal && b.wal ? round(b.wal[k] - a.wal[k], 1) : null);
      return {
        ...x,
        device: b.device,
        seconds: round((b.at - a.at) / 1000, 1),
        flushes: delta('flushes'),
        flushMs: delta('flushMs'),
        discards: delta('discards'),
        discardMs: delta('discardMs'),
        writes: delta('writes'),
        writeMs: delta('writeMs'),
        walSyncs: walDelta('syncs'),
        walSyncMs: walDelta('syncMs'),
        walMB: a.wal && b.wal ? round((b.wal.bytes - a.wal.bytes) / 1e6, 1) : null,
      };
    });
}

/** WAL written and flushed from `from` to the last sample, per message at the run's acked rate. */
function walOver(disk, from, to, msgPerSec) {
  const samples = disk.filter((d) => d.wal && d.at <= to).sort((a, b) => a.at - b.at);
  const a = samples.find((d) => d.at >= from);
  const b = samples.at(-1);
  if (!a || !b || a === b || !msgPerSec) return null;
  const seconds = (b.at - a.at) / 1000;
  const n = msgPerSec * seconds;
  const syncs = b.wal.syncs - a.wal.syncs;
  return {
    seconds: round(seconds, 1),
    bytesPerMessage: Math.round((b.wal.bytes - a.wal.bytes) / n),
    fpiPerMessage: round((b.wal.fpi - a.wal.fpi) / n, 3),
    syncsPerSecond: Math.round(syncs / seconds),
    meanSyncMs: syncs ? round((b.wal.syncMs - a.wal.syncMs) / syncs, 2) : null,
    timed: b.wal.syncMs > 0,
  };
}
