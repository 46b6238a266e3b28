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
  await withAdmin((c) => c.query(`CREATE DATABASE ${name}`));
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
