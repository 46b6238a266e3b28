/**
 * What every scenario needs: a fresh database (a PGlite data dir, or a new
 * PostgreSQL database that is dropped afterwards), Tether servers started on
 * it, and a CPU meter that knows which pids belong to which side.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import pg from 'pg';
import { CpuMeter, machineCpu } from './procstat.mjs';
import { createDatabase, postgresPids, withAdmin } from './postgres.mjs';
import { startTether } from './server.mjs';

/**
 * Runs fn with a fresh database. `start(opts)` starts a server on it (several
 * in a row are fine, as long as the previous one was stopped); every server
 * still running is stopped at the end, then the database is removed.
 */
export async function withDatabase(db, defaults, fn) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `tether-bench-${db}-`));
  const pgdb = db === 'postgres' ? await createDatabase() : null;
  await settle(pgdb);
  const servers = [];
  try {
    const start = async (opts = {}) => {
      const s = await startTether({ dataDir, databaseUrl: pgdb?.url ?? null, ...defaults, ...opts, env: { ...defaults?.env, ...opts.env } });
      servers.push(s);
      return s;
    };
    return await fn({ db, dataDir, pgdb, start });
  } finally {
    for (const s of servers) if (s.alive) await s.stop();
    // BENCH_KEEP_DB=1 keeps a PostgreSQL database for a look afterwards (drop it by hand).
    if (pgdb && process.env.BENCH_KEEP_DB) console.log(`  kept database ${pgdb.name}`);
    else if (pgdb) await pgdb.drop().catch((err) => console.warn(`could not drop ${pgdb.name}: ${err.message}`));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * Before a phase: what the previous one left to write (PostgreSQL's dirty
 * buffers, the kernel's dirty pages) is written now, and the machine is given
 * up to 30 s to go quiet (under a fifth of its CPU busy for 3 s in a row), so
 * a phase is not charged with the last one's write-back.
 */
async function settle(pgdb) {
  const t0 = Date.now();
  if (pgdb) await withAdmin((c) => c.query('CHECKPOINT')).catch(() => {});
  spawnSync('sync');
  let quiet = 0;
  let last = machineCpu();
  while (quiet < 3 && Date.now() - t0 < 30_000) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = machineCpu();
    const busy = (now.busy - last.busy) / Math.max(1e-9, now.total - last.total);
    last = now;
    quiet = busy < 0.2 ? quiet + 1 : 0;
  }
  const waited = Date.now() - t0;
  if (waited > 5000) console.log(`  (waited ${Math.round(waited / 1000)} s for the machine to settle${quiet < 3 ? ': it did not' : ''})`);
}

/** A fresh database with one server started on it. */
export function withServer(db, opts, fn) {
  return withDatabase(db, opts, async (ctx) => fn({ ...ctx, server: await ctx.start() }));
}

/** A CPU meter with the server (and, on PostgreSQL, the database's processes) registered. */
export async function meterFor(server, pgdb) {
  const cpu = new CpuMeter();
  cpu.add('tether', server.pid);
  if (pgdb) for (const pid of await postgresPids(pgdb.name)) cpu.add('postgres', pid);
  return cpu;
}

/** Adds pool connections the server opened after the meter was made. */
export async function refreshPostgresPids(cpu, pgdb) {
  if (!pgdb) return;
  for (const pid of await postgresPids(pgdb.name)) cpu.add('postgres', pid);
  cpu.sample();
}

/**
 * Runs SQL on the benchmark database from this process: PostgreSQL directly
 * (any time), PGlite by opening its data dir (only while no server runs on it:
 * one process owns a PGlite data dir at a time).
 */
export async function withSql({ dataDir, pgdb }, fn) {
  if (pgdb) {
    const c = new pg.Client({ connectionString: pgdb.url });
    await c.connect();
    try {
      return await fn(async (sql, params = []) => (await c.query(sql, params)).rows);
    } finally {
      await c.end();
    }
  }
  const { PGlite } = await import('@electric-sql/pglite');
  // As the server opens it (platform/db/pglite.ts): the search indexes need pg_trgm.
  const { pg_trgm } = await import('@electric-sql/pglite/contrib/pg_trgm');
  const db = await PGlite.create(path.join(dataDir, 'pgdata'), { extensions: { pg_trgm } });
  try {
    return await fn(async (sql, params = []) => (await db.query(sql, params)).rows);
  } finally {
    await db.close();
  }
}

export const queryStored = (ctx, sql, params) => withSql(ctx, (q) => q(sql, params));

/** Rows of (id, n) as a Set of n per device id. */
function seqsByDevice(rows) {
  const byDevice = new Map();
  for (const r of rows) {
    let set = byDevice.get(r.id);
    if (!set) byDevice.set(r.id, (set = new Set()));
    set.add(Number(r.n));
  }
  return byDevice;
}

/** Per device, the `seq` of every telemetry message in the raw message history (top level or under `values`). */
export async function rawSeqsByDevice(ctx) {
  const rows = await queryStored(
    ctx,
    `SELECT device_id::text AS id, COALESCE(payload->'values'->>'seq', payload->>'seq')::int8 AS n FROM messages WHERE channel = 'telemetry'`,
  );
  return seqsByDevice(rows);
}

/** The `seq` values stored as telemetry, per device id (and the number of rows read): how acknowledged messages are looked up. */
export async function storedSeqsByDevice(ctx) {
  const rows = await queryStored(ctx, `SELECT device_id::text AS id, num::int8 AS n FROM telemetry WHERE key = 'seq'`);
  return { byDevice: seqsByDevice(rows), rows: rows.length };
}
