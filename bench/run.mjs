#!/usr/bin/env node
/**
 * `npm run bench`: the benchmark suite of issue 5. Runs scenarios 1–11 against
 * the built server (`npm run build` first), prints the figures as it goes,
 * and writes bench/results/<date>.json and .md, plus latest.json and latest.md.
 *
 *   npm run bench -- --only 1,3 --db pglite|postgres|both --quick --duration 120
 *
 * Everything listens on and connects to 127.0.0.1 only. PostgreSQL runs use a
 * fresh database each, dropped afterwards (BENCH_DATABASE_URL names the server,
 * default postgres://postgres@127.0.0.1:5432/postgres).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { parseArgs } from 'node:util';
import { summarizeProfile } from './lib/cpuprofile.mjs';
import { machineInfo, writeResults } from './lib/report.mjs';
import { CLI, ROOT } from './lib/server.mjs';
import { connections } from './scenarios/connections.mjs';
import { durableIngest, mosquittoLimit } from './scenarios/ingest.mjs';
import { latency } from './scenarios/latency.mjs';
import { cluster } from './scenarios/cluster.mjs';
import { externalBroker } from './scenarios/external.mjs';
import { withoutTs } from './scenarios/no-ts.mjs';
import { overload } from './scenarios/overload.mjs';
import { queries } from './scenarios/queries.mjs';
import { startup } from './scenarios/startup.mjs';
import { alarms } from './scenarios/alarms.mjs';
import { ota } from './scenarios/ota.mjs';
import { reports } from './scenarios/reports.mjs';
import { uploads } from './scenarios/uploads.mjs';
import { earlyWarning } from './scenarios/early-warning.mjs';
import { health } from './scenarios/health.mjs';

const HELP = `Usage: npm run bench -- [options]

  --only 1,2,3       scenarios to run (default: 1-16; 2 is the Mosquitto comparison, 9 the two-node cluster, 10 the external broker, 11 alarms, 12 OTA, 13 store-and-forward reports, 14 device file uploads, 15 fleet health on PostgreSQL, 16 early warning (offline, simulated sensors))
  --db both          pglite, postgres or both (default both)
  --quick            short runs to check the suite works (minutes, not a measurement)
  --duration <s>     scenario 1 duration (default 300 on PostgreSQL, 60 on PGlite; --quick 20)
  --devices <n>      scenario 1, 3 and 4 devices (default 1000)
  --inflight <n>     unacknowledged QoS 1 publishes per device in scenario 1 (default 20)
  --generators <n>   load generator processes (default 2)
  --rate <n>         scenario 3 rate in msg/s (default 5000)
  --flood-rate <n>   scenario 4 rate when scenario 1 did not run on that database (default factor × 20000)
  --overload-factor <x> scenario 4 offers this many times the sustained rate (default 10)
  --overload-duration <s> scenario 4 duration (default 60; --quick 20)
  --connections <a,b> scenario 5 steps (default 10000,20000)
  --connections-settle <s> scenario 5 idle time before RSS is read (default 60; --quick 10)
  --alarm-duration <s> scenario 11 part A, each of its two ingest runs (default 120 on PostgreSQL, 60 on PGlite; --quick 20)
  --alarm-raises <n> scenario 11 part B, hot values (alarm raises) per second over all devices (default 20)
  --alarm-part A|B   scenario 11: only part A (throughput with rules) or part B (publish → webhook); default both
  --profile          run scenario 1's, 3's, 4's and 6's servers with --cpu-prof and summarize where their time went
  --report-lines <n> scenario 13: lines in the report (default 1000000; --quick 100000)
  --report-replay    scenario 13: also upload the same report again (every reading a replay)
  --server-env K=V   extra server environment (repeatable), e.g. TETHER_INGEST_BATCH_SIZE=20000
  --server-node-arg A extra node option for every server (repeatable), e.g. --server-node-arg=--trace-gc
  --server-log <dir> also write each server's output to <dir>/<scenario>-<db>-<pid>.log
  --out <dir>        results directory (default bench/results)
`;

const { values: opt } = parseArgs({
  options: {
    only: { type: 'string' },
    db: { type: 'string', default: 'both' },
    quick: { type: 'boolean', default: false },
    duration: { type: 'string' },
    devices: { type: 'string', default: '1000' },
    inflight: { type: 'string', default: '20' },
    generators: { type: 'string', default: '2' },
    rate: { type: 'string', default: '5000' },
    'flood-rate': { type: 'string' },
    'overload-factor': { type: 'string', default: '10' },
    'overload-duration': { type: 'string' },
    connections: { type: 'string' },
    'connections-settle': { type: 'string' },
    'alarm-duration': { type: 'string' },
    'alarm-raises': { type: 'string', default: '20' },
    'alarm-part': { type: 'string', default: 'AB' },
    'health-devices': { type: 'string' },
    'report-lines': { type: 'string' },
    'report-replay': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'server-env': { type: 'string', multiple: true, default: [] },
    'server-node-arg': { type: 'string', multiple: true, default: [] },
    'server-log': { type: 'string' },
    out: { type: 'string', default: path.join(ROOT, 'bench/results') },
    help: { type: 'boolean', default: false },
  },
});
if (opt.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
if (!fs.existsSync(CLI)) {
  console.error(`${CLI} is missing: run npm run build first.`);
  process.exit(2);
}

const only = new Set((opt.only ?? '1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16').split(',').map((s) => s.trim()));
const dbs = opt.db === 'both' ? ['postgres', 'pglite'] : [opt.db];
if (!dbs.every((d) => d === 'postgres' || d === 'pglite')) {
  console.error('--db must be pglite, postgres or both');
  process.exit(2);
}
const quick = opt.quick;
const int = (v) => Number.parseInt(v, 10);
const profileDir = path.join(opt.out, 'profiles');
/** Scenarios whose server runs under --cpu-prof with --profile. */
const PROFILED = new Set(['ingest', 'latency', 'overload', 'queries']);
const serverEnv = Object.fromEntries(opt['server-env'].map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));

const ctx = {
  quick,
  serverEnv,
  ingest: (db) => ({
    devices: int(opt.devices),
    inflight: int(opt.inflight),
    processes: int(opt.generators),
    durationMs: 1000 * (opt.duration ? int(opt.duration) : quick ? 20 : db === 'postgres' ? 300 : 60),
  }),
  mosquittoDurationMs: 1000 * (quick ? 20 : 60),
  ota: { devices: quick ? 200 : 1000, rolloutMB: 1, downloaders: quick ? 20 : 100, downloadMB: 20 },
  uploads: { devices: quick ? 5 : 20, mb: quick ? 10 : 50 },
  health: { devices: opt['health-devices'] ? int(opt['health-devices']) : quick ? 1000 : 10_000, days: quick ? 7 : 30, calls: quick ? 10 : 25 },
  reports: { lines: opt['report-lines'] ? int(opt['report-lines']) : quick ? 100_000 : 1_000_000, replay: opt['report-replay'] },
  latency: {
    rate: int(opt.rate),
    devices: int(opt.devices),
    durationMs: quick ? 15_000 : 130_000,
    warmupMs: quick ? 5_000 : 10_000,
    processes: int(opt.generators),
  },
  overload: {
    devices: int(opt.devices),
    factor: Number(opt['overload-factor']),
    durationMs: 1000 * (opt['overload-duration'] ? int(opt['overload-duration']) : quick ? 20 : 60),
    processes: int(opt.generators),
    bufferLimit: 64 * 1024,
    inflight: 1000,
    rssBoundMB: 1000,
  },
  connections: {
    steps: opt.connections ? opt.connections.split(',').map(int) : quick ? [2000, 4000] : [10_000, 20_000],
    processes: 4,
    concurrency: 200,
    keepalive: 120,
    settleMs: 1000 * (opt['connections-settle'] ? int(opt['connections-settle']) : quick ? 10 : 60),
  },
  queries: { days: quick ? 3 : 30, runs: quick ? 10 : 30, warmup: 3 },
  startup: { repeats: quick ? 1 : 3, idleMs: 5_000 },
  cluster: {
    rate: int(opt.rate),
    devices: int(opt.devices),
    durationMs: quick ? 15_000 : 60_000,
    warmupMs: 5_000,
    processes: int(opt.generators),
  },
  alarms: {
    parts: opt['alarm-part'].toUpperCase(),
    ingest: (db) => ({
      devices: int(opt.devices),
      inflight: int(opt.inflight),
      processes: int(opt.generators),
      durationMs: 1000 * (opt['alarm-duration'] ? int(opt['alarm-duration']) : quick ? 20 : db === 'postgres' ? 120 : 60),
    }),
    latency: {
      rate: int(opt.rate),
      devices: int(opt.devices),
      durationMs: quick ? 20_000 : 130_000,
      warmupMs: quick ? 5_000 : 10_000,
      processes: int(opt.generators),
      raisesPerSecond: Number(opt['alarm-raises']),
    },
  },
  withoutTs: { devices: int(opt.devices), durationMs: quick ? 10_000 : 60_000, processes: int(opt.generators) },
  serverNodeArgs: (scenario, db) => [
    ...(opt.profile && PROFILED.has(scenario) ? ['--cpu-prof', `--cpu-prof-dir=${path.join(profileDir, `${scenario}-${db}`)}`] : []),
    ...opt['server-node-arg'],
  ],
};

const results = { started: new Date().toISOString(), argv: process.argv.slice(2), quick, machine: await machineInfo(), scenarios: {}, errors: [] };
console.log(
  `Tether benchmarks${quick ? ' (quick)' : ''} on ${results.machine.cpuModel}, ${results.machine.cores} cores, ${results.machine.memoryGB} GB, Node ${results.machine.node}`,
);
console.log(`machine speed: ${JSON.stringify(results.machine.speed)}`);
console.log(`databases: ${dbs.join(', ')}; scenarios: ${[...only].join(', ')}; load average at start ${results.machine.loadAverage.join(' ')}`);

/**
 * Each scenario starts on a quiet disk: PGlite writes without fsync, so a PGlite
 * run can leave dirty pages whose writeback would compete with the next
 * scenario's PostgreSQL commits. The run logs it when there was much to flush.
 */
function settleDisk() {
  const dirtyMB = () => Number(/^Dirty:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0) / 1024;
  const before = dirtyMB();
  const t = Date.now();
  try {
    execFileSync('sync');
  } catch {
    // no sync(1): the scenario runs on whatever the disk is doing
  }
  if (before > 64) console.log(`  (flushed ${Math.round(before)} MB of dirty pages left by earlier scenarios in ${Date.now() - t} ms)`);
}

if (opt['server-log']) {
  fs.mkdirSync(opt['server-log'], { recursive: true });
  process.env.BENCH_SERVER_LOG_DIR = path.resolve(opt['server-log']);
}

async function step(id, db, fn, profiled = null) {
  const key = db ? `${id}:${db}` : String(id);
  process.env.BENCH_STEP = key;
  const dir = profiled && opt.profile ? path.join(profileDir, `${profiled}-${db}`) : null;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  settleDisk();
  try {
    results.scenarios[key] = await fn();
  } catch (err) {
    console.error(`  scenario ${key} failed: ${err.stack ?? err}`);
    results.errors.push({ scenario: key, error: String(err.message ?? err) });
  }
  const file = dir && fs.existsSync(dir) ? fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile')) : null;
  if (file && results.scenarios[key]) {
    const summary = summarizeProfile(path.join(dir, file), 20);
    results.scenarios[key].profile = summary;
    console.log(`  profile (${summary.busyPercent}% of the main thread busy); top self time:`);
    for (const f of summary.functions.slice(0, 12)) console.log(`    ${String(f.pct).padStart(5)}%  ${f.fn}`);
    console.log(
      `  by package: ${summary.packages
        .slice(0, 8)
        .map((p) => `${p.pkg} ${p.pct}%`)
        .join(', ')}`,
    );
  }
}

const t0 = Date.now();
for (const db of dbs) {
  if (only.has('1')) await step(1, db, () => durableIngest(ctx, db), 'ingest');
  if (db === 'postgres' && only.has('2')) await step(2, 'mosquitto', () => mosquittoLimit(ctx));
}
for (const db of dbs) if (only.has('3')) await step(3, db, () => latency(ctx, db), 'latency');
for (const db of dbs) {
  if (!only.has('4')) continue;
  const sustained = results.scenarios[`1:${db}`]?.figures.msgPerSec ?? (opt['flood-rate'] ? int(opt['flood-rate']) / ctx.overload.factor : 20_000);
  await step(4, db, () => overload(ctx, db, sustained), 'overload');
}
for (const db of dbs) if (only.has('5')) await step(5, db, () => connections(ctx, db));
for (const db of dbs) if (only.has('6')) await step(6, db, () => queries(ctx, db), 'queries');
for (const db of dbs) if (only.has('7')) await step(7, db, () => startup(ctx, db));
for (const db of dbs) if (only.has('8')) await step(8, db, () => withoutTs(ctx, db));
// Two nodes need a database both can reach: PostgreSQL only.
if (only.has('9')) await step(9, 'postgres', () => cluster(ctx));
if (only.has('10')) await step(10, 'postgres', () => externalBroker(ctx));
for (const db of dbs) if (only.has('11')) await step(11, db, () => alarms(ctx, db));
for (const db of dbs) if (only.has('12')) await step(12, db, () => ota(ctx, db));
for (const db of dbs) if (only.has('13')) await step(13, db, () => reports(ctx, db));
for (const db of dbs) if (only.has('14')) await step(14, db, () => uploads(ctx, db));
// 43M heartbeats are generated with generate_series in PostgreSQL: PostgreSQL only.
if (only.has('15')) await step(15, 'postgres', () => health(ctx));
// No server: the detector over the simulator's sensor model.
if (only.has('16')) await step(16, null, () => earlyWarning(ctx));

results.finished = new Date().toISOString();
results.minutes = Math.round((Date.now() - t0) / 6000) / 10;
const files = writeResults(results, opt.out);
console.log(`\n${files.summary}`);
console.log(
  `Wrote ${path.relative(process.cwd(), files.json)} and ${path.relative(process.cwd(), files.md)} (also latest.json, latest.md) in ${results.minutes} min.`,
);
process.exit(results.errors.length ? 1 : 0);
