/**
 * Scenario 6, queries: one device with 30 days of 1 Hz data (2.6M rows), read
 * through the REST API: latest value, 1 hour raw, 1 day in 1-minute buckets,
 * 30 days in 1-hour buckets.
 *
 * The history is bulk-loaded with generate_series, and its rollups rebuilt
 * from the raw rows with tether_rebuild_rollups (migration 010), the function
 * for loads that bypass ingest. Before that, a spot check: telemetry sent over
 * MQTT through the real ingest path must leave rollups equal to the
 * aggregates of its raw rows.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { withDatabase, withSql } from '../lib/context.mjs';
import { WireClient, publishEncoder } from '../lib/mqtt-wire.mjs';
import { round } from '../lib/procstat.mjs';
import { signIn } from '../lib/provision.mjs';
import { percentiles } from '../lib/stats.mjs';

const DAY = 86400_000;
const ORIGIN = "TIMESTAMPTZ '2000-01-01 00:00:00+00'";

/** Sends `count` QoS 1 messages of key "humidity" spread over the last two hours, waiting for every PUBACK. */
async function ingestSample(server, device, count) {
  const c = await WireClient.connect({ host: server.mqttHost, port: server.mqttPort, clientId: 'spot', username: device.id, password: device.token });
  const encode = publishEncoder(`devices/${device.id}/telemetry`, 1);
  const now = Date.now();
  let acked = 0;
  await new Promise((resolve, reject) => {
    c.onPuback = () => ++acked === count && resolve();
    c.onClose = () => reject(new Error('spot-check connection closed'));
    for (let i = 0; i < count; i++) {
      const ts = now - 2 * 3600_000 + Math.floor((i * 7200_000) / count) + (i % 7);
      c.write(encode(`{"ts":${ts},"humidity":${((i * 37) % 1000) / 10},"state":"${i % 3 ? 'ok' : 'warn'}"}`, (i % 65535) + 1));
    }
  });
  c.onClose = null;
  c.close();
  return acked;
}

/**
 * Buckets where a rollup table differs from the aggregates of the raw rows (sums compared to rounding).
 * Hour rows are compared before hours_done_until only: later hours are read from minute rows until the
 * worker rebuilds them (migration 011).
 */
async function mismatches(sql, deviceId, table, width) {
  const final = table === 'telemetry_1h' ? 'AND bucket < (SELECT hours_done_until FROM rollup_state)' : '';
  const [r] = await sql(
    `WITH raw AS (
       SELECT key, date_bin('${width}', ts, ${ORIGIN}) AS bucket, count(*) AS cnt, count(num) AS n, coalesce(sum(num), 0) AS sum, min(num) AS min, max(num) AS max
       FROM telemetry WHERE device_id = $1 GROUP BY key, bucket
     ), roll AS (SELECT key, bucket, cnt, n, sum, min, max FROM ${table} WHERE device_id = $1 ${final})
     SELECT (SELECT count(*)::int FROM raw WHERE true ${final}) AS buckets, count(*)::int AS bad
     FROM (SELECT * FROM raw WHERE true ${final}) raw FULL JOIN roll USING (key, bucket)
     WHERE raw.cnt IS DISTINCT FROM roll.cnt OR raw.n IS DISTINCT FROM roll.n OR raw.min IS DISTINCT FROM roll.min OR raw.max IS DISTINCT FROM roll.max
        OR raw.sum IS NULL OR roll.sum IS NULL OR abs(raw.sum - roll.sum) > 1e-9 * (1 + abs(raw.sum))`,
    [deviceId],
  );
  return r;
}

async function rollupMismatches(sql, deviceId) {
  const m = await mismatches(sql, deviceId, 'telemetry_1m', '1 minute');
  const h = await mismatches(sql, deviceId, 'telemetry_1h', '1 hour');
  return { minuteBuckets: m.buckets, minuteMismatches: m.bad, hourBuckets: h.buckets, hourMismatches: h.bad };
}

/** 1 Hz rows of "temperature" for [to − days, to), then rollups and the latest value as ingest would leave them. */
async function bulkLoad(sql, deviceId, days, toMs) {
  const from = new Date(toMs - days * DAY);
  const to = new Date(toMs);
  // Daily partitions, as a server running for those days would have created.
  await sql(`SELECT tether_ensure_partitions('telemetry', $1::date, $2)`, [from.toISOString().slice(0, 10), days + 2]);
  const t0 = performance.now();
  await sql(
    `INSERT INTO telemetry (device_id, key, ts, num)
     SELECT $1, 'temperature', t, round((20 + 8 * sin(extract(epoch FROM t) / 13751) + random())::numeric, 2)::float8
     FROM generate_series($2::timestamptz, $3::timestamptz - interval '1 second', interval '1 second') AS t`,
    [deviceId, from, to],
  );
  const insertMs = performance.now() - t0;
  const t1 = performance.now();
  await sql('SELECT tether_rebuild_rollups($1, $2, $3)', [from, to, deviceId]);
  const rollupMs = performance.now() - t1;
  await sql(
    `INSERT INTO telemetry_latest (device_id, key, ts, num)
     SELECT device_id, key, ts, num FROM telemetry WHERE device_id = $1 AND key = 'temperature' ORDER BY ts DESC LIMIT 1
     ON CONFLICT (device_id, key) DO UPDATE SET ts = excluded.ts, num = excluded.num WHERE telemetry_latest.ts <= excluded.ts`,
    [deviceId],
  );
  await sql('ANALYZE telemetry');
  await sql('ANALYZE telemetry_1m');
  await sql('ANALYZE telemetry_1h');
  const [{ n }] = await sql(`SELECT count(*)::int AS n FROM telemetry WHERE device_id = $1 AND key = 'temperature'`, [deviceId]);
  return { rows: n, insertSeconds: round(insertMs / 1000, 1), rollupSeconds: round(rollupMs / 1000, 1) };
}

/** One keep-alive connection, as a dashboard would hold: the figure is the server's time plus one local round trip. */
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function get(url, token) {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      })
      .on('error', reject);
  });
}

async function timeQuery(url, token, runs, warmup) {
  const times = [];
  let body = null;
  for (let i = 0; i < warmup + runs; i++) {
    const t0 = performance.now();
    const res = await get(url, token);
    const ms = performance.now() - t0;
    body = res.body;
    if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status} ${JSON.stringify(body)}`);
    if (i >= warmup) times.push(ms);
  }
  return { ...percentiles(times), body };
}

export async function queries(ctx, db) {
  const { days, runs, warmup } = ctx.queries;
  console.log(`\n[6] queries on ${db}: one device, ${days} days of 1 Hz data, ${runs} timed runs per query through the REST API`);
  return withDatabase(db, { nodeArgs: ctx.serverNodeArgs('queries', db), env: ctx.serverEnv }, async (dbctx) => {
    let server = await dbctx.start();
    let api = await signIn(server.httpUrl);
    const device = await api.devices.create({ name: 'history' });
    const deviceCreds = { id: device.id, token: device.token };
    const spotMessages = await ingestSample(server, deviceCreds, 2000);
    const toMs = Math.floor(Date.now() / 1000) * 1000 - 60_000;
    let load;
    let spot;
    if (dbctx.pgdb) {
      spot = await withSql(dbctx, (sql) => rollupMismatches(sql, device.id));
      load = await withSql(dbctx, (sql) => bulkLoad(sql, device.id, days, toMs));
    } else {
      // PGlite belongs to one process at a time: stop the server to load.
      await server.stop();
      spot = await withSql(dbctx, (sql) => rollupMismatches(sql, device.id));
      load = await withSql(dbctx, (sql) => bulkLoad(sql, device.id, days, toMs));
      server = await dbctx.start();
      api = await signIn(server.httpUrl);
    }
    spot.messages = spotMessages;
    console.log(
      `  spot check: ${spotMessages} messages through MQTT ingest → ${spot.minuteBuckets} minute and ${spot.hourBuckets} hour buckets; ` +
        `rollups differing from raw: ${spot.minuteMismatches} minute, ${spot.hourMismatches} hour`,
    );
    console.log(`  bulk load: ${load.rows} rows in ${load.insertSeconds} s, rollups rebuilt in ${load.rollupSeconds} s`);

    const base = `${server.httpUrl}/api/v1/devices/${device.id}`;
    const now = Date.now();
    const q = (from, extra = '') => `${base}/telemetry?keys=temperature&from=${from}&to=${now}${extra}`;
    const plan = [
      ['latest', `${base}/telemetry/latest`],
      ['1 hour raw', q(now - 3600_000, '&limit=100000')],
      ['1 day, 1-minute buckets (avg)', q(now - DAY, '&interval=1m&agg=avg')],
      [`${days} days, 1-hour buckets (avg)`, q(now - days * DAY, '&interval=1h&agg=avg')],
      [`${days} days, 1-hour buckets (max)`, q(now - days * DAY, '&interval=1h&agg=max')],
    ];
    const results = {};
    for (const [name, url] of plan) {
      const r = await timeQuery(url, api.token, runs, warmup);
      const points = r.body.values ? Object.keys(r.body.values).length : (r.body.series?.temperature?.length ?? 0);
      delete r.body;
      results[name] = { ...r, points };
      console.log(`  ${name}: p50 ${r.p50} ms, p95 ${r.p95} ms, max ${r.max} ms (${points} points)`);
    }
    // For scale: the same 30 days through raw rows ('last' is not rolled up), a few runs.
    const raw = await timeQuery(q(now - days * DAY, '&interval=1h&agg=last'), api.token, 3, 0);
    delete raw.body;
    results[`${days} days, 1-hour buckets (last: raw rows, no rollup)`] = raw;
    console.log(`  for scale, ${days} days from raw rows (agg=last): p50 ${raw.p50} ms`);
    return { figures: { days, rows: load.rows, load, spotCheck: spot, runs, warmup, queries: results } };
  });
}
