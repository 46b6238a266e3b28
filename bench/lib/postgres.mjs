/** Fresh PostgreSQL databases for one benchmark run, dropped afterwards. */
import { randomBytes } from 'node:crypto';
import process from 'node:process';
import pg from 'pg';

export const PG_ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export async function withAdmin(fn) {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export async function createDatabase(prefix = 'tether_bench') {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  await withAdmin(async (c) => {
    await c.query(`CREATE DATABASE ${name}`);
    // So pg_stat_wal times the WAL flushes a commit waits for (scenario 3); two clock reads per flush.
    await c.query(`ALTER DATABASE ${name} SET track_wal_io_timing = on`).catch(() => {});
  });
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)),
  };
}

/** Postgres processes doing this database's work: its backends plus the shared writers (WAL, checkpoints). */
export async function postgresPids(dbName) {
  return withAdmin(async (c) => {
    const r = await c.query(
      `SELECT pid FROM pg_stat_activity
       WHERE datname = $1 OR backend_type IN ('walwriter', 'checkpointer', 'background writer', 'autovacuum launcher')`,
      [dbName],
    );
    return r.rows.map((x) => x.pid);
  });
}

export async function serverSettings() {
  return withAdmin(async (c) => {
    const r = await c.query(
      `SELECT name, setting, unit FROM pg_settings WHERE name IN ('server_version', 'shared_buffers', 'synchronous_commit', 'fsync', 'wal_level', 'max_wal_size', 'commit_delay', 'work_mem')`,
    );
    return Object.fromEntries(r.rows.map((x) => [x.name, x.unit ? `${x.setting} ${x.unit}` : x.setting]));
  });
}

/**
 * How fast this machine's PostgreSQL is at the two things ingest pays for per batch: the
 * round trip of a trivial statement, and a committed one-row insert (a WAL flush each), in a
 * scratch database. Lets runs on different machines be compared.
 */
export async function serverSpeed() {
  const db = await createDatabase('tether_bench_speed');
  const c = new pg.Client({ connectionString: db.url });
  try {
    await c.connect();
    const time = async (n, fn) => {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await fn(i);
      return Math.round(((performance.now() - t0) / n) * 1000);
    };
    await c.query('CREATE TABLE speed (i int)');
    const selectRoundTripUs = await time(2000, () => c.query('SELECT 1'));
    const committedInsertUs = await time(500, (i) => c.query('INSERT INTO speed VALUES ($1)', [i]));
    const t0 = performance.now();
    await c.query('SELECT count(*) FROM generate_series(1, 3000000)');
    return { selectRoundTripUs, committedInsertUs, scan3MRowsMs: Math.round(performance.now() - t0) };
  } finally {
    await c.end().catch(() => {});
    await db.drop();
  }
}

/** The server's data directory, where its WAL is flushed; null when it cannot be read (not a superuser). */
export async function postgresDataDir() {
  return withAdmin((c) => c.query('SHOW data_directory')).then(
    (r) => r.rows[0]?.data_directory ?? null,
    () => null,
  );
}

/**
 * Reads pg_stat_wal (the whole server's WAL writes and flushes) on one connection. Sync and
 * write times are zero unless track_wal_io_timing is on for the sessions doing them, as it is
 * for the bench's databases (createDatabase).
 */
export async function walStats() {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  return {
    async read() {
      const r = await c.query('SELECT wal_records, wal_fpi, wal_bytes, wal_write, wal_sync, wal_write_time, wal_sync_time FROM pg_stat_wal');
      const x = r.rows[0];
      return {
        records: Number(x.wal_records),
        fpi: Number(x.wal_fpi),
        bytes: Number(x.wal_bytes),
        writes: Number(x.wal_write),
        syncs: Number(x.wal_sync),
        writeMs: x.wal_write_time,
        syncMs: x.wal_sync_time,
      };
    },
    close: () => c.end(),
  };
}
