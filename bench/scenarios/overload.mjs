/**
 * Scenario 4, overload: a flood at 10× the rate scenario 1 sustained (--overload-factor), for 60 s,
 * from devices with up to 1,000 publishes in flight each.
 * The generators write whenever a device's socket takes data (no ack window);
 * when the server stops reading (its backpressure: held PUBACKs, unread
 * sockets), the turn is skipped and counted as held back. Afterwards every
 * acknowledged message must be in the database.
 */
import { setInterval, clearInterval } from 'node:timers';
import { meterFor, queryStored, refreshPostgresPids, withServer } from '../lib/context.mjs';
import { runPublishers, THROUGHPUT_GENERATOR_NICENESS } from '../lib/generators.mjs';
import { memory, round } from '../lib/procstat.mjs';
import { createDevices, signIn } from '../lib/provision.mjs';
import { cpuLine } from '../lib/report.mjs';
import { batchStats, memoryParts, metricSum } from '../lib/server.mjs';

export async function overload(ctx, db, sustainedRate) {
  const { devices: deviceCount, durationMs, processes, bufferLimit, inflight, factor } = ctx.overload;
  const rate = Math.round(factor * sustainedRate);
  console.log(
    `\n[4] overload on ${db}: flood at ${rate} msg/s (${factor} × ${Math.round(sustainedRate)}) from ${deviceCount} devices for ${durationMs / 1000} s, up to ${inflight} unacknowledged per device`,
  );
  return withServer(db, { nodeArgs: ctx.serverNodeArgs('overload', db), env: ctx.serverEnv }, async ({ server, dataDir, pgdb }) => {
    const api = await signIn(server.httpUrl);
    const prov = await createDevices(api, deviceCount, { name: 'flood' });
    const cpu = await meterFor(server, pgdb);
    const idleRss = memory(server.pid)?.rss ?? 0;
    let peakRss = idleRss;
    let healthFailures = 0;
    let healthChecks = 0;
    // What the RSS is made of (the server's own memory figures), kept for the highest RSS seen.
    let peakParts = null;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, memory(server.pid)?.rss ?? 0);
      void refreshPostgresPids(cpu, pgdb).catch(() => {});
    }, 250);
    // The server must keep answering while flooded.
    const health = setInterval(() => {
      healthChecks++;
      fetch(`${server.httpUrl}/healthz`, { signal: AbortSignal.timeout(5000) }).then(
        (r) => r.status !== 200 && healthFailures++,
        () => healthFailures++,
      );
      memoryParts(server.httpUrl).then(
        (parts) => {
          if (parts && parts.rssMB >= (peakParts?.rssMB ?? 0)) peakParts = parts;
        },
        () => {},
      );
    }, 2000);
    let run;
    try {
      run = await runPublishers({
        niceness: THROUGHPUT_GENERATOR_NICENESS,
        devices: prov.devices,
        processes,
        cpu,
        config: {
          host: server.mqttHost,
          port: server.mqttPort,
          auth: true,
          clientIdPrefix: 'flood',
          mode: 'flood',
          rate,
          bufferLimit,
          inflight: ctx.overload.inflight,
          durationMs,
          drainMs: 180_000,
        },
      });
    } finally {
      clearInterval(sampler);
      clearInterval(health);
    }
    const cpuUse = cpu.stop();
    const rejected = await metricSum(server.httpUrl, 'tether_messages_rejected_total');
    const dropped = await metricSum(server.httpUrl, 'tether_messages_dropped_total');
    // Publishes parsed while the budget was spent: read past the budget, then held waiting for it.
    const budgetWaits = await metricSum(server.httpUrl, 'tether_ingest_budget_waits_total');
    const batches = await batchStats(server.httpUrl);
    const alive = server.alive;
    const stop = await server.stop();

    const rows = await queryStored(
      { dataDir, pgdb },
      `SELECT device_id::text AS id, count(*)::int AS n FROM messages WHERE channel = 'telemetry' GROUP BY device_id`,
    );
    const stored = new Map(rows.map((r) => [r.id, Number(r.n)]));
    let lost = 0;
    for (const [id, acked] of run.perDevice) lost += Math.max(0, acked - (stored.get(id) ?? 0));

    const seconds = durationMs / 1000;
    const figures = {
      offeredMsgPerSec: rate,
      sustainedMsgPerSec: Math.round(sustainedRate),
      overloadFactor: factor,
      ackedShareOfSustained: round(run.totals.ackedInWindow / (durationMs / 1000) / sustainedRate, 2),
      devices: deviceCount,
      durationSeconds: seconds,
      sent: run.totals.sent,
      heldBackByBackpressure: run.totals.skippedBackpressure,
      ackedInWindow: run.totals.ackedInWindow,
      ackedMsgPerSec: Math.round(run.totals.ackedInWindow / seconds),
      ackedTotal: run.totals.acked,
      unackedAtEnd: run.totals.unackedAtEnd,
      rejectedByServer: rejected,
      droppedByServer: dropped,
      budgetWaits,
      disconnects: run.totals.disconnects,
      ackedLost: lost,
      idleRssMB: round(idleRss / 1e6),
      peakRssMB: round(peakRss / 1e6),
      // At the highest RSS the server reported (sampled every 2 s, so at or below peakRssMB).
      memoryAtPeakMB: peakParts,
      // Issue 11 §3: the ingest budget and bounded reads hold memory, whatever the devices' windows.
      rssBoundMB: ctx.overload.rssBoundMB,
      inflightPerDevice: inflight,
      healthChecks,
      healthFailures,
      serverStayedUp: alive,
      serverExit: stop.code ?? stop.signal,
      ackLatencyMs: run.ackLatency,
      perSecond: run.perSecond,
      ...batches,
    };
    console.log(
      `  ${db}: acked ${figures.ackedMsgPerSec} msg/s of ${rate} offered; ${figures.heldBackByBackpressure} held back by backpressure, ${rejected} rejected, ` +
        `${lost} acked lost; RSS ${figures.idleRssMB} → peak ${figures.peakRssMB} MB; health ${healthChecks - healthFailures}/${healthChecks}`,
    );
    console.log(`  CPU (cores): ${cpuLine(cpuUse)}`);
    return { figures, cpu: cpuUse };
  });
}
