/**
 * Scenario 11, alarms (issue 13, section "Figures").
 *
 * Part A, throughput with rules: scenario 1's durable ingest (N devices, a
 * window of unacknowledged QoS 1 publishes each, as fast as the server acks)
 * twice in one run, each on a fresh database and server: without rules, then
 * with one device-scoped threshold rule per device on `temperature`. The
 * generator's temperatures cycle through 18.000–25.875 °C in 64 steps; the
 * rules raise above 25.7 (2 values of 64, about 3% of messages) and clear
 * below 17 (never), so every device's alarm is raised once and then repeated
 * (its count goes up) twice every 64 messages: the evaluation reads every
 * message against its rules and writes a repeat upsert for 3% of them.
 * Afterwards the alarms' counts are checked against the hot messages acked,
 * and a probe (one more hot message after the load) shows how far evaluation
 * lagged behind ingest.
 *
 * Part B, publish → alarm raised → webhook: scenario 3's fixed rate over N
 * devices, one org rule (raise above 500, clear below 100) notifying a webhook
 * target on a local receiver (a child process). Now and then (`--alarm-raises`
 * per second in all) a device sends a unique hot value, 1000 + a counter, and
 * its next message is an ordinary one, which clears the alarm: raised and
 * cleared again and again, each a webhook. Each raise's webhook is matched to
 * its hot value's publish time. Where the time goes comes from the database's
 * own timestamps: the message's receipt, the raise in the alarm history, the
 * delivery planned by the outbox, the pg-boss job's start.
 */
import { setInterval, clearInterval, setTimeout } from 'node:timers';
import process from 'node:process';
import pg from 'pg';
import { meterFor, queryStored, refreshPostgresPids, withServer } from '../lib/context.mjs';
import { forkChild, releaseChild, runPublishers } from '../lib/generators.mjs';
import { publishEncoder, WireClient } from '../lib/mqtt-wire.mjs';
import { busiestOthers, memory, processTable, round } from '../lib/procstat.mjs';
import { createDevices, signIn } from '../lib/provision.mjs';
import { batchStats, metricSum } from '../lib/server.mjs';
import { Histogram } from '../lib/stats.mjs';
import { cpuLine } from '../lib/report.mjs';
import { minWindowRate } from './ingest.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The threshold of part A: 2 of the generator's 64 temperatures (25.750, 25.875) are above it. */
const A_RAISE = 25.7;

/** One QoS 1 message from each device (so its rule's key is one it reports: RULE_UNKNOWN_KEY otherwise), acknowledged. */
async function primeDevices(server, devices, concurrency = 50) {
  let next = 0;
  const worker = async () => {
    while (next < devices.length) {
      const d = devices[next++];
      const c = await WireClient.connect({ host: server.mqttHost, port: server.mqttPort, clientId: `prime-${d.id}`, username: d.id, password: d.token });
      await new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no PUBACK for device ${d.id}'s first message`)), 30_000);
        c.onPuback = () => {
          clearTimeout(t);
          resolve();
        };
        c.write(publishEncoder(`devices/${d.id}/telemetry`, 1)('{"temperature":20,"humidity":40,"pressure":1000}', 1));
      });
      c.close();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, devices.length) }, worker));
}

/** Runs `fn(item)` over items, `concurrency` at a time. */
async function pool(items, concurrency, fn) {
  let next = 0;
  const out = new Array(items.length);
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return out;
}

/** Creates a rule, retrying a RULE_UNKNOWN_KEY a few times (the primed keys are there once committed). */
async function createRule(api, body) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await api.request('POST', '/api/v1/alarm-rules', body);
    } catch (err) {
      if (attempt < 5 && err.code === 'RULE_UNKNOWN_KEY') {
        await sleep(500);
        continue;
      }
      throw err;
    }
  }
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

const oursOf = (cpu, extra = []) => new Set([process.pid, ...extra, ...[...cpu.groups.values()].flatMap((g) => [...g.keys()])]);

/** Part A, one phase: a fresh database and server, optionally one rule per device, scenario 1's load. */
async function ingestPhase(ctx, db, withRules) {
  const { devices: deviceCount, durationMs, inflight, processes } = ctx.alarms.ingest(db);
  const label = withRules ? `${db}, ${deviceCount} rules` : `${db}, no rules`;
  return withServer(db, { nodeArgs: ctx.serverNodeArgs('alarms', db), env: ctx.serverEnv }, async ({ server, pgdb, dataDir }) => {
    const api = await signIn(server.httpUrl);
    const prov = await createDevices(api, deviceCount, { name: withRules ? 'rules' : 'norules' });
    await primeDevices(server, prov.devices);
    let rulesMs = null;
    if (withRules) {
      const t0 = Date.now();
      await pool(prov.devices, 8, (d) =>
        createRule(api, {
          scope: 'device',
          scopeId: d.id,
          name: 'hot',
          kind: 'threshold',
          key: 'temperature',
          condition: { op: '>', value: A_RAISE },
          clear: { op: '<', value: 17 },
          severity: 'major',
          message: '{{device.name}} temperature {{value}}',
        }),
      );
      rulesMs = Date.now() - t0;
      console.log(`  created ${deviceCount} device rules through the REST API in ${round(rulesMs / 1000, 1)} s`);
    }
    const cpu = await meterFor(server, pgdb);
    let peakRss = 0;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, memory(server.pid)?.rss ?? 0);
      void refreshPostgresPids(cpu, pgdb).catch(() => {});
    }, 1000);
    const committedBefore = await metricSum(server.httpUrl, 'tether_messages_accepted_total');
    const procs0 = processTable();
    let run;
    try {
      run = await runPublishers({
        devices: prov.devices,
        processes,
        cpu,
        config: { host: server.mqttHost, port: server.mqttPort, auth: true, clientIdPrefix: 'alarms', mode: 'max', inflight, durationMs, drainMs: 60_000 },
        onTick: progress(label, durationMs),
      });
    } finally {
      clearInterval(sampler);
    }
    const cpuUse = cpu.stop();
    const others = busiestOthers(procs0, processTable(), oursOf(cpu), cpuUse.wallSeconds);
    const committed = (await metricSum(server.httpUrl, 'tether_messages_accepted_total')) - committedBefore;
    const batches = await batchStats(server.httpUrl);
    const seconds = durationMs / 1000;
    const msgPerSec = Math.round(run.totals.ackedInWindow / seconds);
    const out = {
      rules: withRules ? deviceCount : 0,
      durationSeconds: seconds,
      msgPerSec,
      lowest10sWindowMsgPerSec: minWindowRate(run.perSecond),
      ackedInWindow: run.totals.ackedInWindow,
      ackedTotal: run.totals.acked,
      committedByServer: committed,
      ackLatencyMs: run.ackLatency,
      disconnects: run.totals.disconnects,
      serverPeakRssMB: round(peakRss / 1e6),
      meanBatchSize: batches.meanBatchSize,
      meanCommitMs: batches.meanCommitMs,
      eventLoopDelayMs: batches.eventLoopDelayMs,
      perSecond: run.perSecond,
      otherProcesses: others,
    };
    if (withRules) {
      // Evaluation runs after the commit, off the PUBACK path: how far behind was it when the load stopped?
      // One more hot message; batches are evaluated in commit order, so its alarm repeat shows when the backlog is done.
      const probe = prov.devices[0];
      const before = await api.request('GET', '/api/v1/alarms', undefined, { deviceId: probe.id, limit: 1 });
      const countBefore = before.items[0]?.count ?? 0;
      const t0 = Date.now();
      const c = await WireClient.connect({
        host: server.mqttHost,
        port: server.mqttPort,
        clientId: `probe-${probe.id}`,
        username: probe.id,
        password: probe.token,
      });
      c.write(publishEncoder(`devices/${probe.id}/telemetry`, 1)(`{"temperature":${A_RAISE + 10}}`, 1));
      let probeMs = null;
      while (Date.now() - t0 < 300_000) {
        const now = await api.request('GET', '/api/v1/alarms', undefined, { deviceId: probe.id, limit: 1 });
        if ((now.items[0]?.count ?? 0) > countBefore) {
          probeMs = Date.now() - t0;
          break;
        }
        await sleep(100);
      }
      c.close();
      const open = await api.request('GET', '/api/v1/alarms', undefined, { state: 'open', limit: 1 });
      const all = await api.request('GET', '/api/v1/alarms', undefined, { limit: 1 });
      out.serverStayedUp = server.alive;
      // PGlite's data dir is the server's while it runs.
      if (!pgdb) await server.stop();
      const [sums] = await queryStored({ pgdb, dataDir }, 'SELECT count(*)::int AS alarms, coalesce(sum(count), 0)::int8 AS occurrences FROM alarms').catch(
        () => [null],
      );
      out.rulesCreateSeconds = round(rulesMs / 1000, 1);
      out.openAlarms = open.total;
      out.alarms = all.total;
      // Every acked message is evaluated: about 2 in 64 of them (plus the probe) count on an alarm.
      out.alarmOccurrences = sums ? Number(sums.occurrences) : null;
      // A device's k-th message (from 0) has temperature index (k + 1) mod 64 (the generator counts it before
      // building it); indexes 62 and 63 are hot, so k mod 64 = 61 or 62. Acked messages are the first ones sent.
      let hot = 0;
      for (const n of run.perDevice.values()) hot += Math.floor(n / 64) * 2 + Math.max(0, Math.min(2, (n % 64) - 61));
      out.expectedOccurrences = hot + 1; // and the probe
      out.evaluationBacklogMs = probeMs;
    }
    out.serverStayedUp ??= server.alive;
    console.log(
      `  ${label}: ${msgPerSec} msg/s (lowest 10 s window ${out.lowest10sWindowMsgPerSec}); PUBACK p50 ${run.ackLatency.p50} ms p99 ${run.ackLatency.p99} ms; ` +
        `batches mean ${batches.meanBatchSize} messages, commit ${batches.meanCommitMs} ms`,
    );
    if (withRules)
      console.log(
        `  alarms: ${out.alarms} (${out.openAlarms} open), ${out.alarmOccurrences ?? '?'} occurrences counted of about ${out.expectedOccurrences} hot messages acked; ` +
          `evaluation caught up ${out.evaluationBacklogMs === null ? 'NOT within 300 s' : `${out.evaluationBacklogMs} ms`} after the load stopped (probe)`,
      );
    console.log(`  CPU (cores): ${cpuLine(cpuUse)}`);
    if (others.length) console.log(`  busiest other processes: ${others.map((o) => `${o.cores} ${o.name.slice(0, 60)}`).join('; ')}`);
    return { figures: out, cpu: cpuUse };
  });
}

/**
 * What the server's PostgreSQL sessions were doing, sampled every 200 ms: the
 * non-idle sessions of the bench's database by statement (its first words)
 * and wait event. Where a stage of part B waits, it shows here.
 */
function activitySampler(pgdb) {
  if (!pgdb) return { stop: async () => null };
  const c = new pg.Client({ connectionString: pgdb.url });
  const counts = new Map();
  let samples = 0;
  let busy = false;
  const ready = c.connect();
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    ready
      .then(() =>
        c.query(
          `SELECT application_name AS app, regexp_replace(left(query, 70), '[[:space:]]+', ' ', 'g') AS q, state, coalesce(wait_event_type || ':' || wait_event, 'cpu') AS w
           FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state NOT IN ('idle')`,
        ),
      )
      .then((r) => {
        samples++;
        for (const x of r.rows) {
          const k = `${x.app} | ${x.state} | ${x.w} | ${x.q}`;
          counts.set(k, (counts.get(k) ?? 0) + 1);
        }
      })
      .catch(() => {})
      .finally(() => (busy = false));
  }, 200);
  return {
    async stop() {
      clearInterval(timer);
      await c.end().catch(() => {});
      return {
        samples,
        // Sessions seen in that state per sample: 1.0 means one session was there all the time.
        top: [...counts.entries()]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 20)
          .map(([k, n]) => ({ sessions: round(n / Math.max(1, samples), 2), what: k })),
      };
    },
  };
}

/** Percentiles of a list of ms values (null when empty). */
function spread(values) {
  const v = values.filter((x) => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const at = (p) => v[Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1))];
  const r = (x) => Math.round(x * 10) / 10;
  return { n: v.length, p50: r(at(50)), p95: r(at(95)), p99: r(at(99)), max: r(v[v.length - 1]) };
}

/**
 * Why hot values got no raise webhook, from the database: each one's message,
 * and the device's alarm that was open when it came (a repeat), or none.
 */
async function explainMisses(stored, values, since) {
  const rows = await queryStored(
    stored,
    `SELECT v, m.device_id, m.received_at, (m.payload ->> 'ts')::int8 AS ts,
       (SELECT jsonb_build_object('raisedAt', a.raised_at, 'clearedAt', a.cleared_at, 'value', a.value, 'count', a.count)
        FROM alarms a WHERE a.device_id = m.device_id AND a.raised_at <= to_timestamp((m.payload ->> 'ts')::float8 / 1000)
        ORDER BY a.raised_at DESC LIMIT 1) AS alarm_before,
       (SELECT jsonb_agg(jsonb_build_object('ts', (x.payload ->> 'ts')::int8, 't', x.payload ->> 'temperature', 'receivedAt', x.received_at) ORDER BY x.received_at)
        FROM messages x WHERE x.device_id = m.device_id AND x.channel = 'telemetry'
          AND x.received_at BETWEEN m.received_at - interval '3 seconds' AND m.received_at + interval '3 seconds') AS around
     FROM unnest($1::float8[]) AS v
     LEFT JOIN LATERAL (SELECT * FROM messages WHERE channel = 'telemetry' AND received_at >= $2 AND (payload ->> 'temperature')::float8 = v LIMIT 1) m ON true`,
    [values, since],
  ).catch((err) => [{ error: err.message }]);
  if (rows[0]?.error) return { error: rows[0].error };
  const kinds = { notStored: 0, repeatOfOpenAlarm: 0, other: 0 };
  for (const r of rows) {
    if (!r.device_id) kinds.notStored++;
    else if (r.alarm_before && r.alarm_before.count > 1 && (!r.alarm_before.clearedAt || Date.parse(r.alarm_before.clearedAt) > Number(r.ts)))
      kinds.repeatOfOpenAlarm++;
    else kinds.other++;
  }
  return { kinds, examples: rows.slice(0, 3) };
}

/** Part B: publish → alarm raised → webhook received, at a fixed rate. */
async function webhookLatency(ctx, db) {
  const { rate, devices: deviceCount, durationMs, warmupMs, processes, raisesPerSecond } = ctx.alarms.latency;
  console.log(
    `  part B on ${db}: ${rate} msg/s from ${deviceCount} devices for ${durationMs / 1000} s (first ${warmupMs / 1000} s not counted), about ${raisesPerSecond} hot values/s, one org rule → webhook`,
  );
  return withServer(db, { nodeArgs: ctx.serverNodeArgs('alarms', db), env: ctx.serverEnv }, async ({ server, pgdb, dataDir }) => {
    const api = await signIn(server.httpUrl);
    const prov = await createDevices(api, deviceCount, { name: 'webhook' });
    await primeDevices(server, prov.devices);
    const receiver = forkChild('webhook-receiver.mjs');
    try {
      receiver.child.send({ type: 'start' });
      const { port } = await receiver.waitFor('listening', 10_000);
      const target = await api.request('POST', '/api/v1/notification-targets', {
        name: 'bench receiver',
        kind: 'webhook',
        config: { url: `http://127.0.0.1:${port}/hook` },
      });
      await createRule(api, {
        scope: 'org',
        name: 'overheat',
        kind: 'threshold',
        key: 'temperature',
        condition: { op: '>', value: 500 },
        clear: { op: '<', value: 100 },
        severity: 'critical',
        message: '{{device.name}} temperature {{value}}',
        notify: [target.id],
      });
      const cpu = await meterFor(server, pgdb);
      cpu.add('subscriber', receiver.pid);
      let peakRss = 0;
      const sampler = setInterval(() => {
        peakRss = Math.max(peakRss, memory(server.pid)?.rss ?? 0);
        void refreshPostgresPids(cpu, pgdb).catch(() => {});
      }, 1000);
      const procs0 = processTable();
      const activity = activitySampler(pgdb);
      const startedAt = Date.now();
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
            clientIdPrefix: 'hook',
            mode: 'rate',
            rate,
            inflight: 20,
            durationMs,
            drainMs: 10_000,
            hot: { share: raisesPerSecond / rate, base: 1000 },
          },
        });
      } finally {
        clearInterval(sampler);
      }
      // Webhooks still on their way: wait until none arrived for 3 s (60 s at most).
      let n = -1;
      let quietSince = Date.now();
      const waitFrom = Date.now();
      while (Date.now() - waitFrom < 60_000 && Date.now() - quietSince < 3000) {
        receiver.child.send({ type: 'count' });
        const c = (await receiver.waitFor('count', 5000)).n;
        if (c !== n) {
          n = c;
          quietSince = Date.now();
        }
        await sleep(250);
      }
      const cpuUse = cpu.stop();
      const sessions = await activity.stop();
      const others = busiestOthers(procs0, processTable(), oursOf(cpu), cpuUse.wallSeconds);
      receiver.child.send({ type: 'stop' });
      const { events, bad } = await receiver.waitFor('done', 15_000);
      const deliveries = await api.request('GET', '/api/v1/notification-deliveries', undefined, { status: 'failed', limit: 1 }).catch(() => null);
      const alive = server.alive;
      await server.stop();

      const published = new Map(run.hotSent.map(([v, t]) => [v, t]));
      const from = startedAt + warmupMs;
      const raisedAt = new Map();
      let duplicates = 0;
      let clearedWebhooks = 0;
      const seenDeliveries = new Set();
      for (const [event, value, at, deliveryId] of events) {
        if (deliveryId && seenDeliveries.has(deliveryId)) duplicates++;
        if (deliveryId) seenDeliveries.add(deliveryId);
        if (event === 'alarm.cleared') clearedWebhooks++;
        if (event !== 'alarm.raised' || typeof value !== 'number') continue;
        if (!raisedAt.has(value)) raisedAt.set(value, at);
      }
      const hist = new Histogram();
      const measured = [];
      let missing = 0;
      for (const [v, t] of published) {
        if (t < from) continue;
        const at = raisedAt.get(v);
        if (at === undefined) {
          missing++;
          continue;
        }
        hist.record(at - t);
        measured.push(v);
      }
      const h = hist.summary();
      const missed = [...published].filter(([v, t]) => t >= from && !raisedAt.has(v)).map(([v]) => v);
      const misses = missed.length ? await explainMisses({ pgdb, dataDir }, missed, new Date(startedAt - 5000)) : null;

      // Where the time went, from the database's timestamps, for each measured raise.
      const stages = await queryStored(
        { pgdb, dataDir },
        `WITH r AS (
           SELECT a.id, a.device_id, (a.value #>> '{}')::float8 AS v, h.id AS hid, h.at AS raised
           FROM alarms a JOIN alarm_history h ON h.alarm_id = a.id AND h.action = 'raised'
           WHERE jsonb_typeof(a.value) = 'number' AND (a.value #>> '{}')::float8 = ANY($1::float8[]))
         SELECT r.v, extract(epoch FROM m.received_at) * 1000 AS received, extract(epoch FROM r.raised) * 1000 AS raised,
           extract(epoch FROM nd.created_at) * 1000 AS planned, extract(epoch FROM j.created_on) * 1000 AS queued,
           extract(epoch FROM j.started_on) * 1000 AS started
         FROM r
         LEFT JOIN LATERAL (SELECT received_at FROM messages WHERE device_id = r.device_id AND channel = 'telemetry' AND received_at >= $2
           AND (payload ->> 'temperature')::float8 = r.v LIMIT 1) m ON true
         LEFT JOIN notification_deliveries nd ON nd.history_id = r.hid
         LEFT JOIN pgboss.job j ON j.name = 'notification-deliver' AND j.data ->> 'deliveryId' = nd.id::text`,
        [measured, new Date(startedAt - 5000)],
      ).catch((err) => {
        console.log(`  (stage timestamps unavailable: ${err.message})`);
        return [];
      });
      const byValue = new Map(stages.map((s) => [Number(s.v), s]));
      const steps = {
        publishToReceipt: [],
        receiptToRaise: [],
        raiseToPlanned: [],
        plannedToReceived: [],
        plannedToQueued: [],
        queuedToStarted: [],
        startedToReceived: [],
      };
      let throughQueue = 0;
      const slowest = [];
      const bySlot = [];
      for (const v of measured) {
        const s = byValue.get(v);
        const t = published.get(v);
        const got = raisedAt.get(v);
        const num = (x) => (x === null || x === undefined ? null : Number(x));
        const rec = num(s?.received);
        const rai = num(s?.raised);
        const pla = num(s?.planned);
        const que = num(s?.queued);
        const sta = num(s?.started);
        const d = (a, b) => (a !== null && b !== null ? b - a : null);
        const row = {
          totalMs: got - t,
          publishToReceipt: d(t, rec),
          receiptToRaise: d(rec, rai),
          raiseToPlanned: d(rai, pla),
          // Sent at once by the outbox's node, or (a failed first attempt, more than its direct slots) through pg-boss.
          plannedToReceived: d(pla, got),
          plannedToQueued: d(pla, que),
          queuedToStarted: d(que, sta),
          startedToReceived: d(sta, got),
        };
        for (const k of Object.keys(steps)) steps[k].push(row[k]);
        if (que !== null) throughQueue++;
        slowest.push(row);
        const slot = Math.floor((t - startedAt) / 10_000);
        (bySlot[slot] ??= []).push(row);
      }
      slowest.sort((a, b) => b.totalMs - a.totalMs);
      // Per 10 s of publish time: a stage whose p50 grows from slot to slot is a queue that does not keep up.
      const overTime = Array.from({ length: bySlot.length }, (_, i) => bySlot[i]).map((rows, i) => ({
        fromS: i * 10,
        n: rows?.length ?? 0,
        ...Object.fromEntries(
          ['totalMs', 'receiptToRaise', 'raiseToPlanned', 'plannedToReceived'].map((k) => [k, spread((rows ?? []).map((r) => r[k]))?.p50 ?? null]),
        ),
      }));
      const stageSpread = Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, spread(v)]));
      const achieved = Math.round(run.totals.ackedInWindow / (durationMs / 1000));
      const figures = {
        targetRate: rate,
        achievedMsgPerSec: achieved,
        devices: deviceCount,
        durationSeconds: durationMs / 1000,
        warmupSeconds: warmupMs / 1000,
        hotPublished: published.size,
        hotPublishedMeasured: [...published.values()].filter((t) => t >= from).length,
        raisedWebhooks: raisedAt.size,
        clearedWebhooks,
        webhooks: events.length,
        duplicateWebhooks: duplicates,
        unreadableWebhooks: bad,
        raisesWithoutWebhook: missing,
        failedDeliveries: deliveries?.total ?? null,
        publishToWebhookMs: h,
        stagesMs: stageSpread,
        raisesThroughJobQueue: throughQueue,
        misses,
        overTime,
        postgresSessions: sessions,
        slowestRaises: slowest.slice(0, 5).map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? null : Math.round(v)]))),
        ackLatencyMs: run.ackLatency,
        skippedWindowFull: run.totals.skippedWindow,
        serverPeakRssMB: round(peakRss / 1e6),
        serverStayedUp: alive,
        otherProcesses: others,
      };
      console.log(
        `  ${db}: ${achieved} msg/s; publish → webhook (raise) p50 ${h.p50} ms, p95 ${h.p95} ms, p99 ${h.p99} ms, max ${h.max} ms ` +
          `(${h.n} raises measured of ${figures.hotPublishedMeasured} hot values published after the warm-up; ${missing} without a webhook); ` +
          `${events.length} webhooks in all (${raisedAt.size} raised, ${clearedWebhooks} cleared, ${duplicates} duplicates)`,
      );
      if (misses)
        console.log(`  hot values without a raise webhook: ${JSON.stringify(misses.kinds ?? misses)}; examples: ${JSON.stringify(misses.examples ?? [])}`);
      console.log(
        `  stages p50 / p99 ms: ${Object.entries(stageSpread)
          .map(([k, s]) => `${k} ${s ? `${s.p50} / ${s.p99}` : '–'}`)
          .join(', ')}`,
      );
      console.log(
        `  p50 per 10 s of publish time (s: total / receipt → raise / planned → webhook received, ms): ${overTime
          .map((x) => `${x.fromS}: ${x.totalMs} / ${x.receiptToRaise} / ${x.plannedToReceived}`)
          .join('; ')}`,
      );
      if (sessions)
        console.log(
          `  PostgreSQL sessions of the server, mean number in each state over ${sessions.samples} samples: ${sessions.top
            .slice(0, 10)
            .map((x) => `${x.sessions} ${x.what}`)
            .join(' || ')}`,
        );
      console.log(`  CPU (cores): ${cpuLine(cpuUse)}`);
      if (others.length) console.log(`  busiest other processes: ${others.map((o) => `${o.cores} ${o.name.slice(0, 60)}`).join('; ')}`);
      return { figures, cpu: cpuUse };
    } finally {
      await releaseChild(receiver);
    }
  });
}

/** Scenario 11 on one database: part A (no rules, then 1,000 rules) and part B (webhook latency). */
export async function alarms(ctx, db) {
  const { devices, durationMs, inflight } = ctx.alarms.ingest(db);
  console.log(
    `\n[11] alarms on ${db}: part A, durable ingest without rules and with ${devices} device rules, ${durationMs / 1000} s each, window ${inflight}; part B, publish → webhook`,
  );
  const parts = ctx.alarms.parts;
  let withoutRules = null;
  let withRules = null;
  let ratio = null;
  if (parts.includes('A')) {
    withoutRules = await ingestPhase(ctx, db, false);
    withRules = await ingestPhase(ctx, db, true);
    ratio = round(withRules.figures.msgPerSec / withoutRules.figures.msgPerSec, 3);
    console.log(
      `  part A on ${db}: ${withRules.figures.msgPerSec} msg/s with ${devices} rules / ${withoutRules.figures.msgPerSec} msg/s without = ${Math.round(ratio * 100)}% (target ≥ 90%)`,
    );
  }
  let latency = null;
  if (parts.includes('B')) {
    try {
      latency = await webhookLatency(ctx, db);
    } catch (err) {
      console.error(`  part B failed: ${err.stack ?? err}`);
      latency = { error: String(err.message ?? err) };
    }
  }
  // The CPU table shows part A with rules (the figure the target is about), else part B; each part keeps its own.
  return {
    figures: { withoutRules: withoutRules?.figures ?? null, withRules: withRules?.figures ?? null, ratio, webhook: latency?.figures ?? latency },
    cpu: withRules?.cpu ?? latency?.cpu ?? null,
    cpuParts: { withoutRules: withoutRules?.cpu ?? null, withRules: withRules?.cpu ?? null, webhook: latency?.cpu ?? null },
  };
}
