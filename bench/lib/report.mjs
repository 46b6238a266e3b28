/**
 * The machine a run happened on, the targets of issue 5 checked against the
 * figures, and the JSON + Markdown files under bench/results/.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { mosquittoVersion, MOSQUITTO } from './mosquitto.mjs';
import { createHash } from 'node:crypto';
import { serverSettings, serverSpeed } from './postgres.mjs';
import { ROOT } from './server.mjs';

/** What the server said its memory was made of at its highest RSS (scenario 4). */
function memoryAtPeak(m) {
  if (!m) return '';
  return `; at ${fmt(m.rssMB)} MB: V8 heap ${fmt(m.heapUsedMB)} used of ${fmt(m.heapTotalMB)} (young generation ${fmt(m.youngGenerationMB)}, old ${fmt(m.oldGenerationUsedMB)} used), outside the heap ${fmt(m.externalMB)}`;
}

export const cpuLine = (cpu) =>
  `${Object.entries(cpu.groups)
    .map(([k, v]) => `${k} ${v.cores}`)
    .join(
      ', ',
    )}, other processes ${cpu.machine.otherCores} (machine busy ${cpu.machine.busyCores} of ${cpu.machine.cores}); waiting for a core, per CPU second used: ${Object.entries(
    cpu.groups,
  )
    .filter(([, v]) => v.waitPerCpuSecond !== null && v.waitPerCpuSecond !== undefined)
    .map(([k, v]) => `${k} ${v.waitPerCpuSecond} s`)
    .join(', ')}`;

export async function machineInfo() {
  const git = (args) => {
    try {
      return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return null;
    }
  };
  let postgres = null;
  try {
    postgres = await serverSettings();
  } catch (err) {
    postgres = { error: err.message };
  }
  let postgresSpeed = null;
  try {
    postgresSpeed = await serverSpeed();
  } catch (err) {
    postgresSpeed = { error: err.message };
  }
  return {
    cores: os.cpus().length,
    speed: { ...cpuSpeed(), postgres: postgresSpeed },
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
    postgres,
    mosquitto: fs.existsSync(MOSQUITTO) ? mosquittoVersion() : 'not installed',
    commit: git(['rev-parse', '--short', 'HEAD']),
    // A run's own results (bench/results/latest.*, rewritten by every run) are not a change to what was measured.
    uncommittedChanges: (git(['status', '--porcelain', '--untracked-files=no', '--', '.', ':(exclude)bench/results']) ?? '') !== '',
  };
}

/**
 * One core's speed, so runs on different machines of the same name can be compared: the
 * best of 3 of a fixed JS loop and of SHA-256 over 64 MB. Machines sold as the same kind
 * have differed here by 2-3x in throughput on the same code.
 */
function cpuSpeed() {
  const best = (fn) =>
    Math.min(
      ...[0, 1, 2].map(() => {
        const t0 = performance.now();
        fn();
        return performance.now() - t0;
      }),
    );
  const jsLoopMs = best(() => {
    let x = 0;
    for (let i = 0; i < 1e8; i++) x = (x + i * 7) % 1000003;
    return x;
  });
  const buf = Buffer.alloc(64 * 2 ** 20, 1);
  const sha256Ms = best(() => createHash('sha256').update(buf).digest());
  return { jsLoopMs: Math.round(jsLoopMs), sha256MBps: Math.round(64 / (sha256Ms / 1000)) };
}

const fmt = (n) => (n === null || n === undefined || Number.isNaN(n) ? '–' : typeof n === 'number' ? n.toLocaleString('en-US') : String(n));
const status = (ok) => (ok === null ? 'n/a' : ok ? '**met**' : '**not met**');
const dbName = { postgres: 'PostgreSQL', pglite: 'PGlite' };

/** One row per target and database: what was measured and whether it meets the target. */
export function targetRows(r) {
  const rows = [];
  const s = r.scenarios;
  const add = (id, target, db, measured, ok, note) => rows.push({ id, target, db: dbName[db] ?? db, measured, status: ok, note });
  for (const db of ['postgres', 'pglite']) {
    const primary = db === 'postgres';
    const one = s[`1:${db}`]?.figures;
    if (one) {
      const long = one.durationSeconds >= 300;
      const ok = one.msgPerSec >= 20_000 && one.missingAckedMessages === 0 && one.missingAckedDataPoints === 0;
      add(
        1,
        '≥ 20K msg/s (60K data points/s) durable, sustained 5 min',
        db,
        `${fmt(one.msgPerSec)} msg/s = ${fmt(one.dataPointsPerSec)} data points/s over ${one.durationSeconds} s (lowest 10 s window ${fmt(one.lowest10sWindowMsgPerSec)}); ` +
          `${fmt(one.ackedTotal)} acked, ${fmt(one.missingAckedMessages)} missing`,
        primary ? (long ? ok : null) : null,
        primary && !long ? 'shorter than 5 min' : primary ? null : 'no target on PGlite',
      );
      const mosq = s['2:mosquitto']?.figures;
      if (mosq && primary) {
        const ratio = one.msgPerSec / mosq.msgPerSec;
        add(
          2,
          '≥ 50% of Mosquitto’s QoS 1 fan-in (same run)',
          db,
          `${Math.round(ratio * 100)}% (${fmt(one.msgPerSec)} / ${fmt(mosq.msgPerSec)} msg/s)`,
          ratio >= 0.5,
        );
      }
    }
    const three = s[`3:${db}`]?.figures;
    if (three) {
      const h = three.publishToLiveMs;
      const ok = h.p99 !== null && h.p99 <= 50 && three.achievedMsgPerSec >= 0.95 * three.targetRate;
      add(
        3,
        `p99 ≤ 50 ms at ${fmt(three.targetRate)} msg/s, publish → live WebSocket`,
        db,
        `p50 ${h.p50} / p95 ${h.p95} / p99 ${h.p99} / max ${h.max} ms at ${fmt(three.achievedMsgPerSec)} msg/s`,
        primary ? ok : null,
        primary ? null : 'no target on PGlite',
      );
    }
    // Scenario 9 runs on PostgreSQL only, once per bus engine.
    const nine = db === 'postgres' ? s['9:postgres']?.figures : null;
    for (const [engine, run] of Object.entries(nine ?? {})) {
      const f = run.figures;
      const h = f.publishToLiveOtherNodeMs;
      add(
        9,
        `cluster, bus ${engine}: p99 ≤ 50 ms publish on node B → dashboard on node A at ${fmt(f.targetRate)} msg/s, every event delivered (issue 12)`,
        db,
        `p50 ${h.p50} / p95 ${h.p95} / p99 ${h.p99} / max ${h.max} ms; ${fmt(f.liveEventsOnA)} of ${fmt(f.acked)} delivered at ${fmt(f.achievedMsgPerSec)} msg/s`,
        h.p99 !== null && h.p99 <= 50 && f.deliveredShare >= 1 && f.achievedMsgPerSec >= 0.95 * f.targetRate,
      );
    }
    const eleven = s[`11:${db}`]?.figures;
    if (eleven?.withRules && eleven.withoutRules) {
      const a = eleven.withRules;
      const long = a.durationSeconds === undefined || a.durationSeconds >= 60;
      add(
        11,
        `ingest with ${fmt(a.rules)} device rules ≥ 90% of the no-rule durable throughput, same run (issue 13)`,
        db,
        `${Math.round(eleven.ratio * 100)}% (${fmt(a.msgPerSec)} / ${fmt(eleven.withoutRules.msgPerSec)} msg/s); ${fmt(a.alarms)} alarms, ${fmt(a.alarmOccurrences)} occurrences of ${fmt(a.expectedOccurrences)} hot messages; evaluation ${a.evaluationBacklogMs === null ? 'had not caught up 300 s' : `caught up ${fmt(a.evaluationBacklogMs)} ms`} after the load`,
        primary && !r.quick && long ? eleven.ratio >= 0.9 : null,
        !primary ? 'no target on PGlite' : r.quick ? 'quick run' : null,
      );
    }
    const hook = eleven?.webhook;
    if (hook?.publishToWebhookMs) {
      const h = hook.publishToWebhookMs;
      add(
        11,
        `publish → alarm raised → webhook received p99 ≤ 500 ms at ${fmt(hook.targetRate)} msg/s (issue 13)`,
        db,
        `p50 ${h.p50} / p95 ${h.p95} / p99 ${h.p99} / max ${h.max} ms over ${fmt(h.n)} raises at ${fmt(hook.achievedMsgPerSec)} msg/s; ${fmt(hook.raisesWithoutWebhook)} raises without a webhook`,
        primary && !r.quick ? h.p99 !== null && h.p99 <= 500 && hook.raisesWithoutWebhook === 0 && hook.achievedMsgPerSec >= 0.95 * hook.targetRate : null,
        !primary ? 'no target on PGlite' : r.quick ? 'quick run' : null,
      );
    }
    const twelve = s[`12:${db}`]?.figures;
    if (twelve?.rollout) {
      const a = twelve.rollout;
      add(
        12,
        `a rollout to ${fmt(a.devices)} simulated devices in 4 groups completes end to end; wall time and server CPU per device (issue 14)`,
        db,
        `${a.status} in ${a.wallSeconds} s (groups of ${a.groups.map((g) => g.size).join('/')}: ${a.groups.map((g) => `${g.seconds} s`).join(', ')}; each device installs for ${a.installSecondsPerDevice} s); ${fmt(a.installed)} installed, ${fmt(a.failed)} failed; server CPU ${a.serverCpuSeconds} s = ${a.serverCpuMsPerDevice} ms per device`,
        a.status === 'completed' && a.installed === a.devices,
      );
    }
    if (twelve?.downloads) {
      const b = twelve.downloads;
      add(
        12,
        `${fmt(b.devices)} devices downloading a ${b.artifactMB} MB artifact at once: server RSS ≤ idle + 100 MB (issue 14)`,
        db,
        `peak ${fmt(b.peakRssMB)} MB, idle ${fmt(b.idleRssMB)} MB (+${fmt(b.peakOverIdleMB)} MB); ${fmt(b.servedMB)} MB served in ${b.wallSeconds} s (${fmt(b.servedMBPerSecond)} MB/s), ${fmt(b.installed)} of ${fmt(b.devices)} installed; server CPU ${b.serverCpuSeconds} s`,
        b.status === 'completed' && b.installed === b.devices && b.peakOverIdleMB <= 100,
      );
    }
    const thirteen = s[`13:${db}`]?.figures;
    if (thirteen?.first) {
      const a = thirteen.first;
      const one = s[`1:${db}`]?.figures;
      add(
        13,
        `a ${fmt(thirteen.lines)}-line store-and-forward report (${thirteen.valuesPerLine} values a line) parsed and stored; wall time and rows/s against scenario 1's ingest rate (issue 15)`,
        db,
        `${a.state}: uploaded in ${a.uploadSeconds} s, parsed in ${a.parseSeconds} s = ${fmt(a.linesPerSec)} lines/s, ${fmt(a.rowsPerSec)} rows/s` +
          `${one ? ` (scenario 1 in this run: ${fmt(one.dataPointsPerSec)} points/s)` : ''}; ${fmt(a.storedRows)} rows stored; server RSS ${fmt(a.idleRssMB)} → ${fmt(a.peakRssMB)} MB` +
          `${thirteen.replay ? `; uploaded again (all replays): ${thirteen.replay.parseSeconds} s = ${fmt(thirteen.replay.rowsPerSec)} rows/s, ${fmt(thirteen.replay.storedRows)} rows stored` : ''}`,
        a.state === 'done' && a.storedRows === thirteen.lines * thirteen.valuesPerLine && (!thirteen.replay || thirteen.replay.storedRows === a.storedRows),
      );
    }
    const fourteen = s[`14:${db}`]?.figures;
    if (fourteen) {
      const f = fourteen;
      add(
        14,
        `${fmt(f.devices)} devices uploading ${fmt(f.fileMB)} MB files at once: server RSS ≤ idle + 100 MB; throughput against a plain cp of the same bytes (issue 15)`,
        db,
        `${f.totalMB} MB in ${f.seconds} s = ${f.MBps} MB/s (cp: ${f.cpSeconds} s = ${f.cpMBps} MB/s, uploads at ${Math.round(f.ofCp * 100)}% of cp); ` +
          `RSS ${fmt(f.idleRssMB)} → ${fmt(f.peakRssMB)} MB (+${fmt(f.rssOverIdleMB)}); server CPU ${f.serverCpuSeconds} s; ${fmt(f.storedOk)}/${fmt(f.devices)} stored whole`,
        f.rssOverIdleMB <= 100 && f.storedOk === f.devices,
      );
    }
    const fifteen = s[`15:${db}`]?.figures;
    if (fifteen) {
      const f = fifteen;
      add(
        15,
        `fleet health on ${fmt(f.devices)} devices × ${f.days} days of heartbeats every 10 min: the three seed-001 questions over HTTP, p50 ≤ 100 ms each; the early-warning scan of the fleet ≤ 1 s (issue 16)`,
        db,
        `${fmt(f.heartbeats)} heartbeats (generated in ${f.generateSeconds} s; rollup ${f.rollupSeconds} s, a minute's run ${f.rollupMinuteRunSeconds} s); ` +
          `p50 of ${f.calls} calls: silent now ${f.silentNow.p50} ms (${fmt(f.silentNow.silent)}/${fmt(f.silentNow.monitored)}), mean gap ${f.gaps.p50} ms (${f.gaps.meanS} s), ` +
          `lifespans ${f.lifespans.p50} ms (mean ended ${f.lifespans.meanEndedDays} d); gaps with histogram ${f.gapsWithHistogram?.p50} ms; silent with the daily series ${f.silentSeriesWithList.p50} ms` +
          (f.scan
            ? `; early-warning scan of ${fmt(f.scan.assessed)} devices: incremental p50 ${f.scan.incrementalP50Ms} ms (max ${f.scan.incrementalMaxMs}), full read ${f.scan.fullMs} ms (${fmt(f.scan.fullBeats)} beats, at start and hourly)`
            : ''),
        f.silentNow.p50 <= 100 && f.gaps.p50 <= 100 && f.lifespans.p50 <= 100 && (!f.scan || f.scan.incrementalMaxMs <= 1000),
      );
    }
    const four = s[`4:${db}`]?.figures;
    if (four) {
      const ok =
        four.serverStayedUp && four.healthFailures === 0 && four.ackedLost === 0 && four.peakRssMB <= four.rssBoundMB && four.ackedShareOfSustained >= 0.9;
      add(
        4,
        `at ${four.overloadFactor}× the sustained rate, windows of ${fmt(four.inflightPerDevice)}: no crash, peak RSS ≤ ${fmt(four.rssBoundMB)} MB, acked ≥ 90% of the sustained rate, 0 acked loss (issue 11)`,
        db,
        `${four.serverStayedUp ? 'stayed up' : 'CRASHED'}, health ${four.healthChecks - four.healthFailures}/${four.healthChecks}; peak RSS ${fmt(four.peakRssMB)} MB (idle ${fmt(four.idleRssMB)}${memoryAtPeak(four.memoryAtPeakMB)}); ` +
          `${fmt(four.ackedMsgPerSec)} msg/s acked (${Math.round(100 * four.ackedShareOfSustained)}% of the sustained ${fmt(four.sustainedMsgPerSec)}) of ${fmt(four.offeredMsgPerSec)} offered (${fmt(four.heldBackByBackpressure)} not sent: window or socket full); ${fmt(four.rejectedByServer)} rejected; ${fmt(four.ackedLost)} acked lost`,
        primary ? ok : null,
        primary ? null : 'no target on PGlite',
      );
    }
    const five = s[`5:${db}`]?.figures;
    if (five && five.steps.length) {
      const last = five.steps[five.steps.length - 1];
      const capped = last.cappedByFdLimit;
      const ok = last.rssPerConnectionKB <= 10 && last.open >= (capped ? last.target : 20_000) && last.failed === 0;
      add(
        5,
        '20K idle devices at ≤ 10 KB of server memory each',
        db,
        five.steps
          .map(
            (st) =>
              `${fmt(st.open)} open: ${st.rssPerConnectionKB} KB each after ${five.settleSeconds ?? '?'} s idle${st.afterStorm ? ` (${st.afterStorm.rssPerConnectionKB} KB 5 s after connecting)` : ''}, ${fmt(st.connectsPerSec)} connects/s, idle CPU ${st.idleServerCores} cores`,
          )
          .join('; '),
        primary ? ok : null,
        capped ? `capped at ${fmt(last.target)} by ${capped.reason}` : primary ? null : 'no target on PGlite',
      );
    }
    const six = s[`6:${db}`]?.figures;
    if (six) {
      const q = six.queries;
      const find = (prefix) => Object.entries(q).find(([k]) => k.startsWith(prefix))?.[1];
      const checks = [
        ['latest value ≤ 5 ms', find('latest'), 5],
        ['1 day in 1-minute buckets ≤ 20 ms', find('1 day'), 20],
        [`${six.days} days in 1-hour buckets ≤ 200 ms`, find(`${six.days} days, 1-hour buckets (avg)`), 200],
      ];
      for (const [target, m, limit] of checks) {
        if (m)
          add(
            6,
            target,
            db,
            `p50 ${m.p50} ms, p95 ${m.p95} ms (${m.points} points)`,
            primary && six.days >= 30 ? m.p50 <= limit : null,
            primary ? (six.days < 30 ? `${six.days} days only` : null) : 'no target on PGlite',
          );
      }
    }
    const eight = s[`8:${db}`]?.figures;
    if (eight) {
      const ok = eight.serverStayedUp && eight.windows.every((w) => w.missingAckedMessages === 0 && w.missingAckedTemperaturePoints === 0 && w.ackedTotal > 0);
      add(
        8,
        'payloads without ts: 0 acknowledged messages lost, windows 1 and 20 (checked by sequence number)',
        db,
        eight.windows
          .map((w) => `window ${w.inflightPerDevice}: ${fmt(w.msgPerSec)} msg/s, ${fmt(w.ackedTotal)} acked, ${fmt(w.missingAckedMessages)} missing`)
          .join('; '),
        ok,
      );
    }
    const seven = s[`7:${db}`]?.figures;
    if (seven) {
      add(
        7,
        'cold start ≤ 5 s',
        db,
        `${fmt(seven.cold.spawnToReadyMs)} ms cold, ${fmt(seven.warm.spawnToReadyMs)} ms warm (spawn → "Tether ready")`,
        seven.cold.spawnToReadyMs <= 5000,
      );
      if (!primary)
        add(
          7,
          'idle RSS ≤ 400 MB on embedded PGlite',
          db,
          `${fmt(seven.cold.idleRssMB)} MB cold, ${fmt(seven.warm.idleRssMB)} MB warm`,
          seven.cold.maxIdleRssMB <= 400 && seven.warm.maxIdleRssMB <= 400,
        );
      else add(7, 'idle RSS (no target on PostgreSQL)', db, `${fmt(seven.cold.idleRssMB)} MB cold, ${fmt(seven.warm.idleRssMB)} MB warm`, null);
    }
  }
  const sixteen = s['16']?.figures;
  if (sixteen) {
    const f = sixteen;
    const t = f.tunedOn;
    add(
      16,
      `early warning over ${fmt(f.devices)} simulated heartbeat sensors × ${f.hours} h (${Math.round(f.degradeShare * 100)}% degrading, ${Math.round(f.noisyShare * 100)}% noisy): precision, recall, lead time; one scan of the fleet ≤ 1 s (issue 16)`,
      'offline',
      `seed ${f.seed} (unseen in tuning): precision ${f.precision}, recall ${f.recall} (${fmt(f.truePositives)}/${fmt(f.degrading)}; ${fmt(f.falsePositives)} false positives: ` +
        `${fmt(f.falsePositivesHealthy)} healthy, ${fmt(f.falsePositivesNoisy)} noisy, ${fmt(f.falsePositivesDegradingBeforeOnset)} before onset); ` +
        `warning lead before death p10/median/p90 ${f.leadHoursP10}/${f.leadHoursMedian}/${f.leadHoursP90} h (median decline ${f.declineHoursMedian} h); ` +
        `fleet scan ${fmt(f.fullScan.devices)} × ${f.fullScan.gapsEach} gaps ${f.fullScan.ms} ms` +
        `${f.withExpectedInterval ? `; with the usual interval given: precision ${f.withExpectedInterval.precision}, recall ${f.withExpectedInterval.recall}, median lead ${f.withExpectedInterval.leadHoursMedian} h` : ''}` +
        `${t ? `; tuning seed ${t.seed}: precision ${t.precision}, recall ${t.recall}, median lead ${t.leadHoursMedian} h` : ''}`,
      f.fullScan.ms <= 1000,
      'measured on simulated data: the simulator’s own sensor model',
    );
  }
  return rows.sort((a, b) => a.id - b.id);
}

function cpuTable(r) {
  const lines = [
    '| scenario | wall s | tether | postgres | generators / clients | other processes | machine busy | waiting for a core, s per CPU s |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const [key, v] of Object.entries(r.scenarios)) {
    const c = v.cpu;
    if (!c) continue;
    const g = (name) => (c.groups[name] ? c.groups[name].cores : '–');
    const gen =
      ['generators', 'subscriber', 'clients']
        .filter((n) => c.groups[n])
        .map((n) => `${n} ${c.groups[n].cores}`)
        .join(', ') || '–';
    const wait =
      Object.entries(c.groups)
        .filter(([, x]) => x.waitPerCpuSecond !== null && x.waitPerCpuSecond !== undefined)
        .map(([n, x]) => `${n} ${x.waitPerCpuSecond}`)
        .join(', ') || '–';
    lines.push(
      `| ${key} | ${c.wallSeconds} | ${c.groups.mosquitto ? `mosquitto ${c.groups.mosquitto.cores}` : g('tether')} | ${g('postgres')} | ${gen} | ${c.machine.otherCores} | ${c.machine.busyCores} of ${c.machine.cores} | ${wait} |`,
    );
  }
  return lines.join('\n');
}

/** The server's CPU profile under --profile: its top self-time functions. */
function profileLines(profile) {
  if (!profile) return [];
  return [
    `\nServer CPU profile (${profile.busyPercent}% of the main thread busy), top self time:\n`,
    '| % | function |\n|---|---|',
    ...profile.functions.slice(0, 15).map((fn) => `| ${fn.pct} | \`${fn.fn}\` |`),
  ];
}

function details(r) {
  const out = [];
  const s = r.scenarios;
  const pick = (f, keys) =>
    keys
      .filter((k) => f[k] !== undefined)
      .map((k) => `${k}: ${typeof f[k] === 'object' ? JSON.stringify(f[k]) : fmt(f[k])}`)
      .join('; ');
  for (const [key, v] of Object.entries(s)) {
    const f = v.figures;
    const [id] = key.split(':');
    out.push(`### ${key}`);
    if (id === '1' || id === '2') {
      out.push(
        pick(f, [
          'version',
          'devices',
          'inflightPerDevice',
          'generatorProcesses',
          'durationSeconds',
          'msgPerSec',
          'dataPointsPerSec',
          'lowest10sWindowMsgPerSec',
          'ackedTotal',
          'storedMessages',
          'missingAckedMessages',
          'missingAckedDataPoints',
          'subscriberReceived',
          'serverPeakRssMB',
          'peakRssMB',
          'meanBatchSize',
          'meanCommitMs',
          'disconnects',
        ]),
      );
      out.push(`PUBACK latency (ms): ${JSON.stringify(f.ackLatencyMs)}`);
      out.push(...profileLines(v.profile));
    } else if (id === '3') {
      out.push(
        pick(f, [
          'targetRate',
          'achievedMsgPerSec',
          'devices',
          'durationSeconds',
          'warmupSeconds',
          'liveEvents',
          'meanBatchSize',
          'meanCommitMs',
          'serverPeakRssMB',
        ]),
      );
      out.push(`publish → live event (ms): ${JSON.stringify(f.publishToLiveMs)}; PUBACK (ms): ${JSON.stringify(f.ackLatencyMs)}`);
      if (f.slowestPerSecondMs) out.push(`\nSlowest delivery in each second of the measured window (ms): ${f.slowestPerSecondMs.join(', ')}`);
      if (f.wal)
        out.push(
          `\nWAL in the measured window: ${f.wal.bytesPerMessage} bytes per message, ${f.wal.fpiPerMessage} full-page images per message, ${f.wal.syncsPerSecond} flushes/s by Tether's sessions, mean flush ${f.wal.meanSyncMs} ms.`,
        );
      if (f.slowestSecondsWithDisk?.length && f.slowestSecondsWithDisk[0].flushes !== undefined) {
        out.push(
          `\nThe five slowest seconds, with what the disk (${f.slowestSecondsWithDisk[0].device}) and the WAL did from that second's publishes to their delivery:\n`,
        );
        out.push(
          '| second | slowest ms | over s | device flushes / ms | device writes / ms | discards / ms | WAL flushes / ms | WAL MB |\n|---|---|---|---|---|---|---|---|',
        );
        for (const x of f.slowestSecondsWithDisk) {
          out.push(
            `| ${x.second} | ${x.maxMs} | ${x.seconds} | ${x.flushes} / ${x.flushMs} | ${x.writes} / ${x.writeMs} | ${x.discards} / ${x.discardMs} | ${x.walSyncs ?? '–'} / ${x.walSyncMs ?? '–'} | ${x.walMB ?? '–'} |`,
          );
        }
      }
      out.push(...profileLines(v.profile));
    } else if (id === '4') {
      out.push(
        pick(f, [
          'offeredMsgPerSec',
          'ackedMsgPerSec',
          'sent',
          'heldBackByBackpressure',
          'ackedTotal',
          'rejectedByServer',
          'droppedByServer',
          'disconnects',
          'ackedLost',
          'idleRssMB',
          'peakRssMB',
          'rssBoundMB',
          'healthChecks',
          'healthFailures',
          'meanBatchSize',
          'meanCommitMs',
        ]),
      );
    } else if (id === '5') {
      const settle = f.settleSeconds ?? '?';
      out.push(
        `RSS is what the server holds after ${settle} s of idle connections, against the idle server's RSS after the same ${settle} s. The figure 5 s after the last CONNACK is shown beside it: V8 keeps the connect storm's garbage and fragmented heap pages until its memory reducer runs, some tens of seconds into the quiet.\n`,
      );
      out.push(
        `| open | connects/s | RSS MB, settled | RSS KB per connection, settled | 5 s after the storm: RSS MB / KB per connection | after a forced GC: RSS / JS heap KB per connection | idle server CPU (cores) | failed | note |\n|---|---|---|---|---|---|---|---|---|`,
      );
      for (const st of f.steps) {
        const gc = st.afterGc ? `${st.afterGc.rssPerConnectionKB} / ${st.afterGc.heapUsedPerConnectionKB}` : '–';
        const storm = st.afterStorm ? `${st.afterStorm.rssMB} / ${st.afterStorm.rssPerConnectionKB}` : '–';
        out.push(
          `| ${fmt(st.open)} | ${fmt(st.connectsPerSec)} | ${st.baseRssMB} → ${st.rssMB} | ${st.rssPerConnectionKB} | ${storm} | ${gc} | ${st.idleServerCores} | ${st.failed} | ${st.cappedByFdLimit ? st.cappedByFdLimit.reason : ''} |`,
        );
      }
    } else if (id === '6') {
      out.push(
        `${fmt(f.rows)} rows loaded in ${f.load.insertSeconds} s, rollups rebuilt in ${f.load.rollupSeconds} s. Spot check through MQTT ingest: ${JSON.stringify(f.spotCheck)}`,
      );
      out.push('\n| query (REST API, keep-alive) | p50 ms | p95 ms | max ms | points |\n|---|---|---|---|---|');
      for (const [name, q] of Object.entries(f.queries)) out.push(`| ${name} | ${q.p50} | ${q.p95} | ${q.max} | ${q.points ?? '–'} |`);
      out.push(...profileLines(v.profile));
    } else if (id === '8') {
      out.push(
        '| window | devices | s | msg/s | lowest 10 s | acked | missing (by seq) | missing temperature points | PUBACK p50 / p99 ms |\n|---|---|---|---|---|---|---|---|---|',
      );
      for (const w of f.windows) {
        out.push(
          `| ${w.inflightPerDevice} | ${fmt(w.devices)} | ${w.durationSeconds} | ${fmt(w.msgPerSec)} | ${fmt(w.lowest10sWindowMsgPerSec)} | ${fmt(w.ackedTotal)} | ${fmt(w.missingAckedMessages)}${w.missingExamples.length ? ` (${w.missingExamples.join(', ')})` : ''} | ${fmt(w.missingAckedTemperaturePoints)} | ${w.ackLatencyMs.p50} / ${w.ackLatencyMs.p99} |`,
        );
      }
    } else if (id === '11') {
      const phases = [
        ['no rules', f.withoutRules],
        [`${f.withRules?.rules ?? '?'} device rules`, f.withRules],
      ].filter(([, x]) => x);
      if (phases.length) {
        out.push(`Part A, durable ingest side by side (a fresh database and server each, devices primed with one message):\n`);
        out.push(
          '| run | msg/s | lowest 10 s | PUBACK p50 / p99 ms | mean batch | mean commit ms | alarms | occurrences / expected | evaluation caught up after | other processes (cores) |',
        );
        out.push('|---|---|---|---|---|---|---|---|---|---|');
        for (const [name, x] of phases)
          out.push(
            `| ${name} | ${fmt(x.msgPerSec)} | ${fmt(x.lowest10sWindowMsgPerSec)} | ${x.ackLatencyMs.p50} / ${x.ackLatencyMs.p99} | ${fmt(x.meanBatchSize)} | ${x.meanCommitMs} | ${fmt(x.alarms)} | ${x.alarmOccurrences === undefined ? '–' : `${fmt(x.alarmOccurrences)} / ${fmt(x.expectedOccurrences)}`} | ${x.evaluationBacklogMs === undefined ? '–' : x.evaluationBacklogMs === null ? 'not in 300 s' : `${fmt(x.evaluationBacklogMs)} ms`} | ${(x.otherProcesses ?? []).map((o) => `${o.cores} ${o.name.slice(0, 50).replaceAll('|', '/')}`).join('; ') || '–'} |`,
          );
        if (f.ratio !== null) out.push(`\nWith rules / without: **${Math.round(f.ratio * 100)}%**.`);
        for (const [name, c] of Object.entries(v.cpuParts ?? {})) if (c) out.push(`\nCPU, ${name}: ${cpuLine(c)}`);
      }
      const w = f.webhook;
      if (w?.publishToWebhookMs) {
        out.push(
          `\nPart B, publish → alarm raised → webhook: ${fmt(w.achievedMsgPerSec)} of ${fmt(w.targetRate)} msg/s from ${fmt(w.devices)} devices for ${w.durationSeconds} s (first ${w.warmupSeconds} s not counted); ${fmt(w.hotPublished)} hot values published (${fmt(w.hotPublishedMeasured)} after the warm-up), ${fmt(w.webhooks)} webhooks received (${fmt(w.raisedWebhooks)} raised, ${fmt(w.clearedWebhooks)} cleared, ${fmt(w.duplicateWebhooks)} duplicates), ${fmt(w.raisesWithoutWebhook)} measured raises without a webhook, ${fmt(w.failedDeliveries)} failed deliveries${w.raisesThroughJobQueue === undefined ? '' : `; ${fmt(w.raisesThroughJobQueue)} measured raises went through the job queue`}.`,
        );
        out.push(`\npublish → webhook (ms): ${JSON.stringify(w.publishToWebhookMs)}; PUBACK (ms): ${JSON.stringify(w.ackLatencyMs)}\n`);
        out.push('| stage (database timestamps) | n | p50 ms | p95 ms | p99 ms | max ms |\n|---|---|---|---|---|---|');
        const names = {
          publishToReceipt: 'publish → server receipt (messages.received_at)',
          receiptToRaise: 'receipt → alarm raised (alarm_history.at): commit, then evaluation',
          raiseToPlanned: 'raised → delivery planned by the outbox (notification_deliveries.created_at)',
          plannedToReceived: 'planned → webhook received (first attempt at once, or through the job queue)',
          plannedToQueued: 'through the job queue only: planned → pg-boss job created',
          queuedToStarted: 'through the job queue only: job created → job started by a delivery worker',
          startedToReceived: 'through the job queue only: job started → webhook received',
        };
        for (const [k, label] of Object.entries(names)) {
          const x = w.stagesMs?.[k];
          if (x) out.push(`| ${label} | ${x.n} | ${x.p50} | ${x.p95} | ${x.p99} | ${x.max} |`);
        }
        if (w.overTime?.length) {
          out.push('\nMedians per 10 s of publish time (a stage that grows is a queue that does not keep up):\n');
          out.push('| from s | raises | total ms | receipt → raised | raised → planned | planned → received |\n|---|---|---|---|---|---|');
          for (const x of w.overTime)
            out.push(`| ${x.fromS} | ${x.n} | ${x.totalMs ?? '–'} | ${x.receiptToRaise ?? '–'} | ${x.raiseToPlanned ?? '–'} | ${x.plannedToReceived ?? '–'} |`);
        }
        if (w.postgresSessions?.top?.length) {
          out.push(`\nThe server's PostgreSQL sessions, sampled every 200 ms (${w.postgresSessions.samples} samples): mean number of sessions in each state\n`);
          out.push('| sessions | application / state / wait / statement |\n|---|---|');
          for (const x of w.postgresSessions.top) out.push(`| ${x.sessions} | \`${x.what.replaceAll('|', '/').replaceAll('`', "'")}\` |`);
        }
        if (w.otherProcesses?.length)
          out.push(`\nBusiest other processes meanwhile: ${w.otherProcesses.map((o) => `${o.cores} cores \`${o.name.slice(0, 80)}\``).join('; ')}`);
      } else if (w?.error) out.push(`\nPart B failed: ${w.error}`);
    } else if (id === '7') {
      out.push('| start | spawn → ready ms | server’s own ms | idle RSS MB | peak RSS MB |\n|---|---|---|---|---|');
      for (const k of ['cold', 'warm']) out.push(`| ${k} | ${fmt(f[k].spawnToReadyMs)} | ${fmt(f[k].readyMs)} | ${f[k].idleRssMB} | ${f[k].peakRssMB} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

function speedLine(sp) {
  if (!sp) return 'not measured';
  const pg =
    sp.postgres && !sp.postgres.error
      ? `; PostgreSQL \`SELECT 1\` round trip ${sp.postgres.selectRoundTripUs} µs, committed one-row INSERT ${sp.postgres.committedInsertUs} µs, count(*) of 3M generated rows ${sp.postgres.scan3MRowsMs} ms`
      : '';
  return `one core runs the JS loop in ${sp.jsLoopMs} ms and SHA-256 at ${sp.sha256MBps} MB/s${pg} (lower is faster, but MB/s)`;
}

export function markdown(r) {
  const m = r.machine;
  const rows = targetRows(r);
  const table = ['| # | target | database | measured | status |', '|---|---|---|---|---|'];
  for (const row of rows) table.push(`| ${row.id} | ${row.target} | ${row.db} | ${row.measured} | ${status(row.status)}${row.note ? ` (${row.note})` : ''} |`);
  const pg =
    m.postgres && !m.postgres.error
      ? Object.entries(m.postgres)
          .map(([k, v]) => `${k}=${v}`)
          .join(', ')
      : 'unavailable';
  return [
    `# Tether benchmark results${r.quick ? ' (quick run: not a measurement)' : ''}`,
    '',
    `${r.started} · \`npm run bench${r.argv.length ? ` -- ${r.argv.join(' ')}` : ''}\` · ${r.minutes} min · commit ${m.commit ?? '?'}${m.uncommittedChanges ? ' + uncommitted changes' : ''}`,
    '',
    `Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGB} GB, ${m.os}, Node ${m.node}; PostgreSQL: ${pg}; Mosquitto ${m.mosquitto}. Load average at start: ${m.loadAverage.join(' ')}.`,
    '',
    `Speed, to compare machines: ${speedLine(m.speed)}.`,
    '',
    '## Targets (issue 5)',
    '',
    table.join('\n'),
    '',
    'Targets are for PostgreSQL on this machine; PGlite figures are shown for reference. Query latencies are medians over the timed runs.',
    '',
    '## CPU by side (cores = CPU seconds per wall second)',
    '',
    'Server, database and load generators share the same 2 cores; in the throughput scenarios (1, 2, 4, 8, 10) the generators run at nice 10, so they yield the cores to the server and the database as devices on other machines would. "other processes" is whatever else ran on the machine meanwhile.',
    '',
    cpuTable(r),
    '',
    '## Details',
    '',
    details(r),
    r.errors.length ? `## Errors\n\n${r.errors.map((e) => `- ${e.scenario}: ${e.error}`).join('\n')}\n` : '',
  ].join('\n');
}

export function writeResults(r, dir) {
  fs.mkdirSync(dir, { recursive: true });
  const stamp = r.started.replace(/[:]/g, '-').replace(/\..+$/, '');
  const json = path.join(dir, `${stamp}.json`);
  const md = path.join(dir, `${stamp}.md`);
  const text = markdown(r);
  fs.writeFileSync(json, `${JSON.stringify(r, null, 1)}\n`);
  fs.writeFileSync(md, text);
  fs.writeFileSync(path.join(dir, 'latest.json'), `${JSON.stringify(r, null, 1)}\n`);
  fs.writeFileSync(path.join(dir, 'latest.md'), text);
  const rows = targetRows(r);
  const summary = rows
    .map((row) => `${String(row.id).padEnd(2)} ${(row.db ?? '').padEnd(10)} ${status(row.status).replaceAll('*', '').padEnd(8)} ${row.target}: ${row.measured}`)
    .join('\n');
  return { json, md, summary };
}
