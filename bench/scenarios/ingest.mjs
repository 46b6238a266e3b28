/**
 * Scenario 1, durable ingest: N devices publish QoS 1 telemetry (3 data points
 * per message) as fast as the server acknowledges, for a set duration. Then
 * every acknowledged message is looked up in the database.
 *
 * Scenario 2, the physical limit: the same generators against a plain
 * Mosquitto with one shared-subscription subscriber and no storage.
 */
import { setInterval, clearInterval } from 'node:timers';
import { meterFor, queryStored, refreshPostgresPids, withServer } from '../lib/context.mjs';
import { forkChild, releaseChild, runPublishers, THROUGHPUT_GENERATOR_NICENESS } from '../lib/generators.mjs';
import { startMosquitto } from '../lib/mosquitto.mjs';
import { CpuMeter, memory, round } from '../lib/procstat.mjs';
import { createDevices, signIn } from '../lib/provision.mjs';
import { batchStats, metricSum } from '../lib/server.mjs';
import { cpuLine } from '../lib/report.mjs';

export const POINTS_PER_MESSAGE = 3;

/** The lowest rate over any `span`-second window, skipping the first `warmup` seconds. */
export function minWindowRate(perSecond, span = 10, warmup = 5) {
  let min = Infinity;
  for (let i = warmup; i + span <= perSecond.length; i++) {
    let s = 0;
    for (let k = i; k < i + span; k++) s += perSecond[k];
    min = Math.min(min, s / span);
  }
  return min === Infinity ? null : Math.round(min);
}

function progress(label, durationMs) {
  const t0 = Date.now();
  let last = 0;
  let lastT = t0;
  return (acked) => {
    const now = Date.now();
    if (now - lastT < 10_000) return;
    const rate = Math.round((acked - last) / ((now - lastT) / 1000));
    last = acked;
    lastT = now;
    console.log(`  ${label}: ${Math.round((now - t0) / 1000)}/${Math.round(durationMs / 1000)} s, ${acked} acked, ${rate} msg/s`);
  };
}

/** Scenario 1 on one database. */
export async function durableIngest(ctx, db) {
  const { devices: deviceCount, durationMs, inflight, processes } = ctx.ingest(db);
  console.log(`\n[1] durable ingest on ${db}: ${deviceCount} devices, ${durationMs / 1000} s, in-flight window ${inflight}, ${processes} generator processes`);
  return withServer(db, { nodeArgs: ctx.serverNodeArgs('ingest', db), env: ctx.serverEnv }, async ({ server, dataDir, pgdb }) => {
    const api = await signIn(server.httpUrl);
    const prov = await createDevices(api, deviceCount, { name: 'ingest' });
    console.log(`  provisioned ${deviceCount} devices through the REST API in ${round(prov.ms / 1000, 1)} s`);
    const cpu = await meterFor(server, pgdb);
    let peakRss = 0;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, memory(server.pid)?.rss ?? 0);
      void refreshPostgresPids(cpu, pgdb).catch(() => {});
    }, 1000);
    const committedBefore = await metricSum(server.httpUrl, 'tether_messages_accepted_total');
    let run;
    try {
      run = await runPublishers({
        niceness: THROUGHPUT_GENERATOR_NICENESS,
        devices: prov.devices,
        processes,
        cpu,
        config: { host: server.mqttHost, port: server.mqttPort, auth: true, clientIdPrefix: 'bench', mode: 'max', inflight, durationMs, drainMs: 60_000 },
        onTick: progress(`${db}`, durationMs),
      });
    } finally {
      clearInterval(sampler);
    }
    const cpuUse = cpu.stop();
    const committed = (await metricSum(server.httpUrl, 'tether_messages_accepted_total')) - committedBefore;
    const rejected = await metricSum(server.httpUrl, 'tether_messages_rejected_total');
    const batches = await batchStats(server.httpUrl);
    const alive = server.alive;
    const stop = await server.stop();

    // Every acknowledged message must be stored: per device, messages ≥ acked and telemetry rows ≥ 3 × acked.
    const msgRows = await queryStored(
      { dataDir, pgdb },
      `SELECT device_id::text AS id, count(*)::int AS n FROM messages WHERE channel = 'telemetry' GROUP BY device_id`,
    );
    const ptRows = await queryStored({ dataDir, pgdb }, `SELECT device_id::text AS id, count(*)::int AS n FROM telemetry GROUP BY device_id`);
    const stored = new Map(msgRows.map((r) => [r.id, Number(r.n)]));
    const points = new Map(ptRows.map((r) => [r.id, Number(r.n)]));
    let missingMessages = 0;
    let missingPoints = 0;
    let ackedTotal = 0;
    for (const [id, acked] of run.perDevice) {
      ackedTotal += acked;
      missingMessages += Math.max(0, acked - (stored.get(id) ?? 0));
      missingPoints += Math.max(0, acked * POINTS_PER_MESSAGE - (points.get(id) ?? 0));
    }
    const storedTotal = [...stored.values()].reduce((a, b) => a + b, 0);

    const seconds = durationMs / 1000;
    const msgPerSec = Math.round(run.totals.ackedInWindow / seconds);
    const figures = {
      devices: deviceCount,
      durationSeconds: seconds,
      inflightPerDevice: inflight,
      generatorProcesses: processes,
      connected: run.connect.connected,
      connectFailed: run.connect.failed,
      ackedInWindow: run.totals.ackedInWindow,
      ackedTotal,
      msgPerSec,
      dataPointsPerSec: msgPerSec * POINTS_PER_MESSAGE,
      lowest10sWindowMsgPerSec: minWindowRate(run.perSecond),
      ackLatencyMs: run.ackLatency,
      disconnects: run.totals.disconnects,
      unackedAtEnd: run.totals.unackedAtEnd,
      committedByServer: committed,
      rejectedByServer: rejected,
      storedMessages: storedTotal,
      missingAckedMessages: missingMessages,
      missingAckedDataPoints: missingPoints,
      serverPeakRssMB: round(peakRss / 1e6),
      serverStayedUp: alive,
      serverExit: stop.code ?? stop.signal,
      perSecond: run.perSecond,
      provisioningDevicesPerSec: round(prov.perSecond),
      ...batches,
    };
    console.log(
      `  ${db}: ${msgPerSec} msg/s (${figures.dataPointsPerSec} data points/s), lowest 10 s window ${figures.lowest10sWindowMsgPerSec} msg/s; ` +
        `ack latency p50 ${run.ackLatency.p50} ms p99 ${run.ackLatency.p99} ms; acked ${ackedTotal}, stored ${storedTotal}, missing ${missingMessages}`,
    );
    console.log(
      `  batches: ${batches.batches}, mean ${batches.meanBatchSize} messages, mean commit ${batches.meanCommitMs} ms; CPU (cores): ${cpuLine(cpuUse)}`,
    );
    return { figures, cpu: cpuUse };
  });
}

/** Scenario 2: the same generators against our own Mosquitto. */
export async function mosquittoLimit(ctx) {
  const { devices: deviceCount, inflight, processes } = ctx.ingest('postgres');
  const durationMs = ctx.mosquittoDurationMs;
  console.log(
    `\n[2] physical limit: Mosquitto, ${deviceCount} devices, ${durationMs / 1000} s, in-flight window ${inflight}, 1 shared-subscription subscriber`,
  );
  const mosq = await startMosquitto();
  const sub = forkChild('subscriber.mjs');
  try {
    sub.child.send({ type: 'start', config: { host: mosq.host, port: mosq.port, topic: '$share/bench/devices/+/telemetry', qos: 0 } });
    await sub.waitFor('subscribed', 10_000);
    const devices = Array.from({ length: deviceCount }, (_, i) => ({ id: `mosq-${String(i).padStart(5, '0')}`, token: 'x' }));
    const cpu = new CpuMeter();
    cpu.add('mosquitto', mosq.pid);
    cpu.add('subscriber', sub.pid);
    let peakRss = 0;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, memory(mosq.pid)?.rss ?? 0)), 1000);
    let run;
    try {
      run = await runPublishers({
        niceness: THROUGHPUT_GENERATOR_NICENESS,
        devices,
        processes,
        cpu,
        config: { host: mosq.host, port: mosq.port, auth: false, clientIdPrefix: 'bench', mode: 'max', inflight, durationMs, drainMs: 10_000 },
        onTick: progress('mosquitto', durationMs),
      });
    } finally {
      clearInterval(sampler);
    }
    const cpuUse = cpu.stop();
    sub.child.send({ type: 'stop' });
    const received = (await sub.waitFor('done', 10_000)).received;
    const msgPerSec = Math.round(run.totals.ackedInWindow / (durationMs / 1000));
    const figures = {
      version: mosq.version,
      devices: deviceCount,
      durationSeconds: durationMs / 1000,
      inflightPerDevice: inflight,
      msgPerSec,
      dataPointsPerSec: msgPerSec * POINTS_PER_MESSAGE,
      lowest10sWindowMsgPerSec: minWindowRate(run.perSecond),
      ackLatencyMs: run.ackLatency,
      subscriberReceived: received,
      ackedTotal: run.totals.acked,
      peakRssMB: round(peakRss / 1e6),
      perSecond: run.perSecond,
    };
    console.log(`  mosquitto ${mosq.version}: ${msgPerSec} msg/s acked; subscriber received ${received} of ${run.totals.acked}`);
    console.log(`  CPU (cores): ${cpuLine(cpuUse)}`);
    return { figures, cpu: cpuUse };
  } finally {
    await releaseChild(sub);
    await mosq.stop();
  }
}
