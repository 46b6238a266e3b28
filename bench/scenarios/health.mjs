/**
 * Scenario 15, fleet health (issue 16, seed 001), PostgreSQL. `devices` devices
 * with `days` days of heartbeats every 10 minutes, written straight into the
 * heartbeats table with generate_series (the ingest path would take hours):
 * every device beats with a few seconds of jitter and misses 2% of its beats;
 * a quarter of the devices die on a day of the range, so the silent share,
 * gaps and lifespans are not trivial. Then the heartbeat rollup runs (the
 * worker's step, timed), and each of the three seed questions is asked
 * `calls` times over HTTP on a listening server: the silent share now
 * (10 minutes), the mean gap over the range (and, apart, with the histogram, median and p95),
 * and the lifespans with the survival curve. Target: p50 ≤ 100 ms each.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import pg from 'pg';
import { percentiles } from '../lib/stats.mjs';
import { round } from '../lib/procstat.mjs';
import { createDatabase } from '../lib/postgres.mjs';
import { bulkDevices, signIn } from '../lib/provision.mjs';
import { ROOT, startTether } from '../lib/server.mjs';

const DAY_S = 86_400;

async function timeCalls(api, path, calls) {
  const ms = [];
  let body = null;
  for (let i = 0; i < calls + 2; i++) {
    const t0 = performance.now();
    body = await api.request('GET', path);
    if (i >= 2) ms.push(performance.now() - t0); // two warm-up calls
  }
  const p = percentiles(ms);
  return { p50: round(p.p50, 1), p95: round(p.p95, 1), max: round(Math.max(...ms), 1), body };
}

export async function health(ctx) {
  const { devices: count, days, calls } = ctx.health;
  const pgdb = await createDatabase();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-bench-health-'));
  // API role only: the rollup is run (and timed) here, not by the worker's minute timer.
  const s = await startTether({ dataDir, databaseUrl: pgdb.url, env: { ...ctx.serverEnv, TETHER_ROLES: 'api' } });
  const client = new pg.Client({ connectionString: pgdb.url });
  await client.connect();
  const sql = async (text, params) => (await client.query(text, params)).rows;
  try {
    const api = await signIn(s.httpUrl);
    const [{ id: orgId }] = await sql('SELECT id FROM orgs LIMIT 1');
    await bulkDevices(sql, { orgId, projectId: null, count, name: 'sensor' });
    const start = Math.floor(Date.now() / 1000) - days * DAY_S + 60;
    await sql(`SELECT tether_ensure_partitions('heartbeats', (to_timestamp($1) - interval '1 day')::date, $2)`, [start, days + 3]);
    // A quarter of the devices die, on day 1..days−1 of the range; the others beat to now.
    await sql(
      `CREATE TEMP TABLE bench_life AS
      SELECT id, CASE WHEN row_number() OVER (ORDER BY id) % 4 = 0 THEN 1 + (abs(hashtext(id::text)) % ($1 - 1)) ELSE NULL END AS dies_day
      FROM devices`,
      [days],
    );
    const g0 = performance.now();
    for (let d = 0; d < days; d++) {
      await sql(
        `INSERT INTO heartbeats (device_id, ts)
         SELECT l.id, to_timestamp($1 + $2 * 86400 + i * 600 + (abs(hashtext(l.id::text || i)) % 7))
         FROM bench_life l, generate_series(0, 143) i
         WHERE (l.dies_day IS NULL OR $2 < l.dies_day) AND abs(hashtext(i::text || l.id::text)) % 50 <> 0
         ORDER BY l.id, i`, // in key order: appends to the primary key's index instead of random inserts
        [start, d],
      );
      process.stdout.write(`\r  generating heartbeats: day ${d + 1}/${days}`);
    }
    const generateS = (performance.now() - g0) / 1000;
    await sql('ANALYZE heartbeats');
    const [{ n: rows }] = await sql('SELECT count(*)::bigint AS n FROM heartbeats');
    process.stdout.write(`\r  ${rows} heartbeats generated in ${round(generateS, 0)} s\n`);

    const { openDatabase } = await import(path.join(ROOT, 'apps/server/dist/platform/db/database.js'));
    const { rollUpHeartbeats } = await import(path.join(ROOT, 'apps/server/dist/modules/health/health.repository.js'));
    const { HealthScanner } = await import(path.join(ROOT, 'apps/server/dist/modules/health/health-scan.js'));
    const db = await openDatabase({ databaseUrl: pgdb.url, dataDir });
    const r0 = performance.now();
    const hours = await rollUpHeartbeats(db);
    const rollupS = (performance.now() - r0) / 1000;
    // The generated beats end 9 minutes ago: a fresh one for each living device in the last 5 minutes
    // (1 in 50 misses it), then the worker's every-minute run (the last 3 hours and the current one).
    await sql(`INSERT INTO heartbeats (device_id, ts)
      SELECT id, now() - (abs(hashtext(id::text)) % 300) * interval '1 second' FROM bench_life WHERE dies_day IS NULL AND abs(hashtext(id::text || 'x')) % 50 <> 0`);
    const i0 = performance.now();
    await rollUpHeartbeats(db);
    const incrementalS = (performance.now() - i0) / 1000;
    // The early-warning scan of the whole fleet, as the worker runs it: a full read of every device's last
    // 151 heartbeats (at start and hourly), then incremental scans, each after a minute of heartbeats
    // (one from every living device).
    const scanner = new HealthScanner(db);
    const fullScan = await scanner.scan();
    const scans = [];
    for (let i = 0; i < 5; i++) {
      await sql(
        `INSERT INTO heartbeats (device_id, ts)
        SELECT id, now() - (abs(hashtext(id::text || $1)) % 60000) * interval '1 millisecond' FROM bench_life WHERE dies_day IS NULL
        ON CONFLICT DO NOTHING`,
        [String(i)],
      );
      scans.push(await scanner.scan());
    }
    await db.close();
    // The initial rollup rewrote every day row a few times: vacuumed as autovacuum would do before long
    // (it made little difference: mean gap 940 ms p50 without, 824 ms with).
    const v0 = performance.now();
    await sql('VACUUM ANALYZE heartbeat_hours');
    await sql('VACUUM ANALYZE heartbeat_days');
    await sql('VACUUM ANALYZE heartbeat_span');
    const vacuumS = (performance.now() - v0) / 1000;
    console.log(`  rollup: ${hours} hours in ${round(rollupS, 1)} s; a minute's run: ${round(incrementalS, 2)} s`);

    const from = new Date((start + DAY_S) * 1000).toISOString();
    const silent = await timeCalls(api, '/api/v1/health/silent?minutes=10&limit=20&series=false', calls);
    const gaps = await timeCalls(api, `/api/v1/health/gaps?from=${from}&histogram=false`, calls);
    const gapsHistogram = await timeCalls(api, `/api/v1/health/gaps?from=${from}`, Math.min(calls, 10));
    const lifespans = await timeCalls(api, '/api/v1/health/lifespans?minutes=10', calls);
    const series = await timeCalls(api, `/api/v1/health/silent?minutes=10&limit=1&from=${from}`, Math.min(calls, 5));
    const figures = {
      devices: count,
      days,
      heartbeats: Number(rows),
      generateSeconds: round(generateS, 0),
      rollupHours: hours,
      rollupSeconds: round(rollupS, 1),
      rollupMinuteRunSeconds: round(incrementalS, 2),
      vacuumSeconds: round(vacuumS, 1),
      calls,
      silentNow: { p50: silent.p50, p95: silent.p95, share: round(silent.body.share, 4), silent: silent.body.silent, monitored: silent.body.monitored },
      gaps: {
        p50: gaps.p50,
        p95: gaps.p95,
        meanS: round(gaps.body.gaps.meanS, 1),
        medianS: round(gaps.body.gaps.medianS, 1),
        p95S: round(gaps.body.gaps.p95S, 1),
      },
      lifespans: {
        p50: lifespans.p50,
        p95: lifespans.p95,
        meanEndedDays: round(lifespans.body.meanEndedDays, 2),
        ended: lifespans.body.ended,
        alive: lifespans.body.alive,
        medianSurvivalDays: lifespans.body.medianSurvivalDays,
      },
      silentSeriesWithList: { p50: series.p50, calls: Math.min(calls, 5) },
      scan: {
        assessed: fullScan.assessed,
        warned: fullScan.warned,
        fullMs: round(fullScan.durationMs, 0),
        fullBeats: fullScan.beatsRead,
        incrementalP50Ms: round(percentiles(scans.map((r) => r.durationMs)).p50, 0),
        incrementalMaxMs: round(Math.max(...scans.map((r) => r.durationMs)), 0),
        incrementalBeats: scans.map((r) => r.beatsRead),
        detectorMs: round(percentiles(scans.map((r) => r.detectorMs)).p50, 0),
      },
      gapsWithHistogram: {
        p50: gapsHistogram.p50,
        calls: Math.min(calls, 10),
        medianS: round(gapsHistogram.body.gaps.medianS, 1),
        p95S: round(gapsHistogram.body.gaps.p95S, 1),
      },
    };
    console.log(
      `  ${count} devices × ${days} d (${rows} heartbeats): silent now p50 ${silent.p50} ms (${figures.silentNow.silent}/${figures.silentNow.monitored}), ` +
        `gaps p50 ${gaps.p50} ms (mean ${figures.gaps.meanS} s), lifespans p50 ${lifespans.p50} ms (mean ended ${figures.lifespans.meanEndedDays} d); ` +
        `gaps with histogram, median, p95 p50 ${gapsHistogram.p50} ms; silent with the ${days}-day series p50 ${series.p50} ms; target ≤ 100 ms p50; ` +
        `early-warning scan of ${fullScan.assessed} devices: full ${figures.scan.fullMs} ms (${fullScan.beatsRead} beats), ` +
        `incremental p50 ${figures.scan.incrementalP50Ms} ms (detector ${figures.scan.detectorMs} ms); target ≤ 1 s`,
    );
    return { figures };
  } finally {
    await client.end();
    await s.stop();
    // BENCH_KEEP_DB=1 keeps the database for looking into the plans (dropped by hand).
    if (process.env.BENCH_KEEP_DB) console.log(`  kept database ${pgdb.name}`);
    else await pgdb.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
