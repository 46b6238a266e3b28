/**
 * Scenario 8, durability without `ts`: the same devices as scenario 1, but
 * their payloads carry no time, as most devices send them (the README's first
 * example), and a per-device sequence number instead. At a window of 1
 * (one publish in flight per device) and of 20 (many messages of one device
 * arriving in the same millisecond), every acknowledged sequence number is
 * looked up among the stored telemetry points, and each message's other
 * readings are counted. Before issue 11 a window of 20 lost 92% of them.
 */
import { meterFor, queryStored, storedSeqsByDevice, withServer } from '../lib/context.mjs';
import { runPublishers, THROUGHPUT_GENERATOR_NICENESS } from '../lib/generators.mjs';
import { round } from '../lib/procstat.mjs';
import { createDevices, signIn } from '../lib/provision.mjs';
import { cpuLine } from '../lib/report.mjs';
import { minWindowRate } from './ingest.mjs';

export const WINDOWS = [1, 20];

/** Scenario 8 on one database: one server, one run per window, each with its own devices. */
export async function withoutTs(ctx, db) {
  const { devices: deviceCount, durationMs, processes } = ctx.withoutTs;
  console.log(`\n[8] durability without ts on ${db}: ${deviceCount} devices, windows ${WINDOWS.join(' and ')}, ${durationMs / 1000} s each`);
  return withServer(db, { env: ctx.serverEnv }, async ({ server, dataDir, pgdb }) => {
    const api = await signIn(server.httpUrl);
    const runs = [];
    for (const inflight of WINDOWS) {
      const prov = await createDevices(api, deviceCount, { name: `no-ts-w${inflight}` });
      const cpu = await meterFor(server, pgdb);
      const run = await runPublishers({
        niceness: THROUGHPUT_GENERATOR_NICENESS,
        devices: prov.devices,
        processes,
        cpu,
        config: {
          host: server.mqttHost,
          port: server.mqttPort,
          auth: true,
          clientIdPrefix: `nots${inflight}`,
          mode: 'max',
          inflight,
          durationMs,
          drainMs: 60_000,
          withoutTs: true,
        },
      });
      runs.push({ inflight, run, ids: prov.devices.map((d) => d.id), cpu: cpu.stop() });
    }
    const alive = server.alive;
    await server.stop();

    const { byDevice: storedSeqs, rows: storedSeqRows } = await storedSeqsByDevice({ dataDir, pgdb });
    const countRows = await queryStored(
      { dataDir, pgdb },
      `SELECT device_id::text AS id, count(*) FILTER (WHERE key = 'temperature')::int AS t, (SELECT count(*)::int FROM messages m WHERE m.device_id = t.device_id) AS m
       FROM telemetry t GROUP BY device_id`,
    );
    const counts = new Map(countRows.map((r) => [r.id, { temperature: Number(r.t), messages: Number(r.m) }]));

    const windows = runs.map(({ inflight, run, ids, cpu }) => {
      let acked = 0;
      let missing = 0;
      let missingTemperature = 0;
      const examples = [];
      for (const id of ids) {
        const have = storedSeqs.get(id) ?? new Set();
        let n = 0;
        for (const [a, b] of run.ackedSeqRanges.get(id) ?? []) {
          for (let x = a; x <= b; x++) {
            n++;
            if (!have.has(x)) {
              missing++;
              if (examples.length < 5) examples.push(`${id.slice(0, 8)}…#${x}`);
            }
          }
        }
        acked += n;
        missingTemperature += Math.max(0, n - (counts.get(id)?.temperature ?? 0));
      }
      const msgPerSec = Math.round(run.totals.ackedInWindow / (durationMs / 1000));
      const f = {
        inflightPerDevice: inflight,
        devices: ids.length,
        durationSeconds: durationMs / 1000,
        msgPerSec,
        lowest10sWindowMsgPerSec: minWindowRate(run.perSecond),
        ackedTotal: acked,
        missingAckedMessages: missing,
        missingAckedTemperaturePoints: missingTemperature,
        missingExamples: examples,
        ackLatencyMs: run.ackLatency,
        disconnects: run.totals.disconnects,
        cpuCores: cpu,
      };
      console.log(
        `  ${db}, window ${inflight}: ${msgPerSec} msg/s; acked ${acked}, missing ${missing} by sequence number, ${missingTemperature} temperature points; PUBACK p99 ${run.ackLatency.p99} ms`,
      );
      console.log(`    CPU (cores): ${cpuLine(cpu)}`);
      return f;
    });
    return { figures: { windows, serverStayedUp: alive, storedSeqPoints: storedSeqRows, devices: deviceCount, durationSeconds: round(durationMs / 1000) } };
  });
}
