#!/usr/bin/env node
/**
 * Times the ingest write path alone (writeBatch, as the server calls it) on a
 * scratch PostgreSQL database, without MQTT or HTTP in the way, and the
 * Postgres backend's CPU time per batch.
 *
 *   node bench/tools/write-batch.mjs [messages per batch = 5000] [batches = 20] [devices = 1000]
 *   EXPLAIN=1 …     also prints EXPLAIN ANALYZE of one more batch, generic plan (time per CTE)
 *   PER_QUERY=1 …   writes each batch in a transaction (writeIngestBatch, the fallback path)
 *                   and prints the mean time of each statement
 *   WAL=1 …         also prints the WAL written per message, by record type (pg_walinspect;
 *                   needs a superuser, as the bench's default postgres user is)
 *
 * Each message carries 3 numeric points; batches go round robin over the
 * devices, so a batch of 1,000 has one message per device (sparse) and one of
 * 5,000 has five (dense). Needs `npm run build`.
 */
import os from 'node:os';
import process from 'node:process';
import { performance } from 'node:perf_hooks';
import { openDatabase } from '../../apps/server/dist/platform/db/database.js';
import { ensurePartitions, migrate } from '../../apps/server/dist/platform/db/migrate.js';
import { writeBatch, writeIngestBatch } from '../../apps/server/dist/modules/ingest/ingest.repository.js';
import { createDatabase } from '../lib/postgres.mjs';
import { cpuSeconds } from '../lib/procstat.mjs';

const B = Number(process.argv[2] ?? 5000);
const N = Number(process.argv[3] ?? 20);
const DEVICES = Number(process.argv[4] ?? 1000);

const scratch = await createDatabase('tether_writebatch');
const db = await openDatabase({ databaseUrl: scratch.url, dataDir: process.cwd() });
try {
  await migrate(db);
  await ensurePartitions(db);
  const [org] = await db.query("INSERT INTO orgs (name) VALUES ('write-batch') RETURNING id");
  const devices = await db.query(`INSERT INTO devices (org_id, name) SELECT $1, 'd' || g FROM generate_series(1, $2) g RETURNING id`, [org.id, DEVICES]);
  // Live telemetry: points of the current hour, whose hour rollup the worker builds later (migration 011).
  let ts = Date.now();
  let next = 0;
  const batch = () =>
    Array.from({ length: B }, () => {
      const d = devices[next++ % devices.length];
      // Ingest keeps microseconds (ReceiveClock): these points carry explicit times, one millisecond apart.
      const t = ts++ * 1000;
      return {
        device: { deviceId: d.id, orgId: org.id, projectId: null },
        channel: 'telemetry',
        transport: 'mqtt',
        receivedAt: Date.now() * 1000,
        rawJson: `{"ts":${t / 1000},"temperature":21.5,"humidity":40.1,"pressure":1013.2}`,
        telemetry: [
          { key: 'temperature', ts: t, stamped: false, type: 'num', value: 21.5 },
          { key: 'humidity', ts: t, stamped: false, type: 'num', value: 40.1 },
          { key: 'pressure', ts: t, stamped: false, type: 'num', value: 1013.2 },
        ],
        alert: null,
        heartbeat: null,
        location: null,
        attributes: null,
      };
    });

  // CPU seconds of this database's backends, from /proc (the server is on this machine).
  const backendCpu = async () => {
    const pids = (await db.query('SELECT pid FROM pg_stat_activity WHERE datname = current_database()')).map((r) => r.pid);
    return pids.reduce((sum, pid) => sum + (cpuSeconds(pid) ?? 0), 0);
  };
  // Warm-up: plans, the day's partitions, every device's rollup and latest rows.
  for (let i = 0; i < Math.ceil(DEVICES / B) + 5; i++) await writeBatch(db, batch());
  const times = [];
  const perQuery = {};
  if (process.env.WAL) await db.exec('CREATE EXTENSION IF NOT EXISTS pg_walinspect');
  const lsn = async () => (await db.query('SELECT pg_current_wal_insert_lsn()::text AS l'))[0].l;
  const lsn0 = process.env.WAL ? await lsn() : null;
  const cpu0 = await backendCpu();
  for (let i = 0; i < N; i++) {
    const items = batch();
    const t0 = performance.now();
    if (!process.env.PER_QUERY) {
      await writeBatch(db, items);
      times.push(performance.now() - t0);
      continue;
    }
    await db.transaction((tx) => {
      const timed = {
        query: async (sql, params) => {
          const t1 = performance.now();
          const r = await tx.query(sql, params);
          const name = sql.trim().slice(0, 16);
          perQuery[name] = (perQuery[name] ?? 0) + performance.now() - t1;
          return r;
        },
      };
      return writeIngestBatch(timed, items);
    });
    times.push(performance.now() - t0);
  }
  const cpu = (await backendCpu()) - cpu0;
  times.sort((a, b) => a - b);
  const median = times[N >> 1];
  const mean = times.reduce((a, b) => a + b, 0) / N;
  if (process.env.PER_QUERY) console.log(Object.fromEntries(Object.entries(perQuery).map(([k, v]) => [k, `${(v / N).toFixed(2)} ms`])));
  console.log(
    `${B} messages per batch, ${DEVICES} devices, on ${os.cpus()[0]?.model.trim()}: median ${median.toFixed(2)} ms, mean ${mean.toFixed(2)} ms, p99 ${times[Math.floor(N * 0.99)].toFixed(2)} ms per batch → ${Math.round((B / median) * 1000)} msg/s on one connection; backend CPU ${((cpu / N) * 1000).toFixed(2)} ms per batch`,
  );

  if (process.env.WAL) {
    // Every database's WAL shares one stream: this counts whatever else the server wrote meanwhile too.
    const lsn1 = await lsn();
    const rows = await db.query(
      `SELECT "resource_manager/record_type" AS kind, count::int8 AS n, record_size::int8 AS rec, fpi_size::int8 AS fpi, combined_size::int8 AS total
       FROM pg_get_wal_stats($1::pg_lsn, $2::pg_lsn, true) WHERE count > 0 ORDER BY combined_size DESC`,
      [lsn0, lsn1],
    );
    const messages = B * N;
    const total = rows.reduce((a, r) => a + r.total, 0);
    console.log(`WAL: ${(total / messages).toFixed(0)} bytes per message (${(total / 1e6).toFixed(1)} MB for ${messages} messages), by record type:`);
    for (const r of rows.slice(0, 14)) {
      console.log(
        `  ${r.kind.padEnd(28)} ${(r.n / messages).toFixed(2).padStart(6)} records, ${(r.rec / messages).toFixed(0).padStart(5)} B + FPI ${(r.fpi / messages).toFixed(0).padStart(5)} B per message`,
      );
    }
  }

  if (process.env.EXPLAIN) {
    // The batch statement as writeIngestBatch sends it, captured without running it.
    let sql = null;
    let params = null;
    await writeIngestBatch(
      {
        query: async (q, p) => {
          if (!sql && /pts AS MATERIALIZED/.test(q)) [sql, params] = [q, p];
          return [{ points: 0, inserted: 0 }];
        },
      },
      batch(),
    );
    await db.transaction(async (tx) => {
      // The server's prepared statement runs a generic plan after its first few executions.
      await tx.exec('SET LOCAL plan_cache_mode = force_generic_plan');
      await tx.exec(`PREPARE tether_explain AS ${sql}`);
      const literal = (v) => `'${String(v).replace(/'/g, "''")}'`;
      const plan = await tx.query(`EXPLAIN (ANALYZE, BUFFERS) EXECUTE tether_explain(${params.map(literal).join(', ')})`);
      console.log(plan.map((r) => r['QUERY PLAN']).join('\n'));
      await tx.exec('DEALLOCATE tether_explain');
    });
  }
} finally {
  await db.close();
  await scratch.drop();
}
