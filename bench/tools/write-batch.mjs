#!/usr/bin/env node
/**
 * Times the ingest write path alone (writeIngestBatch, one transaction per
 * batch) on a scratch PostgreSQL database, without MQTT or HTTP in the way.
 *
 *   node bench/tools/write-batch.mjs [messages per batch = 5000] [batches = 20] [devices = 1000]
 *   EXPLAIN=1 …     also prints EXPLAIN ANALYZE of one more batch (time per CTE)
 *   PER_QUERY=1 …   also prints the mean time of each statement of a batch
 *
 * Each message carries 3 numeric points; batches go round robin over the
 * devices, so a batch of 1,000 has one message per device (sparse) and one of
 * 5,000 has five (dense). Needs `npm run build`.
 */
import process from 'node:process';
import { performance } from 'node:perf_hooks';
import { openDatabase } from '../../apps/server/dist/platform/db/database.js';
import { ensurePartitions, migrate } from '../../apps/server/dist/platform/db/migrate.js';
import { writeIngestBatch } from '../../apps/server/dist/modules/ingest/ingest.repository.js';
import { createDatabase } from '../lib/postgres.mjs';

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
  let ts = Date.now() - 3600_000;
  let next = 0;
  const batch = () =>
    Array.from({ length: B }, () => {
      const d = devices[next++ % devices.length];
      const t = ts++;
      return {
        device: { deviceId: d.id, orgId: org.id, projectId: null },
        channel: 'telemetry',
        transport: 'mqtt',
        receivedAt: Date.now(),
        rawJson: `{"ts":${t},"temperature":21.5,"humidity":40.1,"pressure":1013.2}`,
        telemetry: [
          { key: 'temperature', ts: t, type: 'num', value: 21.5 },
          { key: 'humidity', ts: t, type: 'num', value: 40.1 },
          { key: 'pressure', ts: t, type: 'num', value: 1013.2 },
        ],
        alert: null,
        heartbeat: null,
        location: null,
        attributes: null,
      };
    });

  const times = [];
  const perQuery = {};
  for (let i = 0; i < N; i++) {
    const items = batch();
    const t0 = performance.now();
    await db.transaction((tx) => {
      if (!process.env.PER_QUERY) return writeIngestBatch(tx, items);
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
  times.sort((a, b) => a - b);
  const median = times[N >> 1];
  if (process.env.PER_QUERY) console.log(Object.fromEntries(Object.entries(perQuery).map(([k, v]) => [k, `${(v / N).toFixed(2)} ms`])));
  console.log(`${B} messages per batch: median ${median.toFixed(1)} ms per transaction → ${Math.round((B / median) * 1000)} msg/s on one connection`);

  if (process.env.EXPLAIN) {
    // The batch statement as writeIngestBatch sends it, captured without running it.
    let sql = null;
    let params = null;
    await writeIngestBatch(
      {
        query: async (q, p) => {
          if (!sql && q.includes('WITH pts')) [sql, params] = [q, p];
          return [{ points: 0, inserted: 0 }];
        },
      },
      batch(),
    );
    await db.transaction(async (tx) => {
      const plan = await tx.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params);
      console.log(plan.map((r) => r['QUERY PLAN']).join('\n'));
    });
  }
} finally {
  await db.close();
  await scratch.drop();
}
