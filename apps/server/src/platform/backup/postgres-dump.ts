/**
 * PostgreSQL backups with the server's own tools: `pg_dump --format=custom` of one exported
 * snapshot (MVCC: consistent while the cluster keeps writing, and blocking nobody), and
 * `pg_restore` into an empty database.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { appliedMigrations, countRows } from './census.js';

const run = promisify(execFile);

/** A pg_dump or pg_restore that can read a server of this major version: on PATH, or under /usr/lib/postgresql/<major>/bin. */
export async function findPgTool(tool: 'pg_dump' | 'pg_restore', serverMajor: number): Promise<{ bin: string; version: string }> {
  const candidates: string[] = [tool];
  const root = '/usr/lib/postgresql';
  if (fs.existsSync(root)) {
    for (const v of fs.readdirSync(root).sort((a, b) => Number(b) - Number(a))) candidates.push(path.join(root, v, 'bin', tool));
  }
  const seen: string[] = [];
  for (const bin of candidates) {
    const version = await run(bin, ['--version']).then(
      (r) => /(\d+)(?:\.\d+)?/.exec(r.stdout)?.[0] ?? null,
      () => null,
    );
    if (version === null) continue;
    seen.push(`${bin} ${version}`);
    if (Number.parseInt(version, 10) >= serverMajor) return { bin, version };
  }
  throw new Error(
    seen.length
      ? `${tool} ${seen.join(', ')} cannot read a PostgreSQL ${serverMajor} server; install the PostgreSQL ${serverMajor} client tools (postgresql-client-${serverMajor})`
      : `${tool} was not found on PATH or under /usr/lib/postgresql; install the PostgreSQL client tools`,
  );
}

export async function serverMajor(client: pg.Client): Promise<{ major: number; version: string }> {
  const r = await client.query<{ server_version_num: string; server_version: string }>(
    "SELECT current_setting('server_version_num') AS server_version_num, current_setting('server_version') AS server_version",
  );
  return { major: Math.floor(Number(r.rows[0]!.server_version_num) / 10000), version: r.rows[0]!.server_version };
}

/** Runs pg_dump / pg_restore on `url`; its password goes in the environment, not the command line (ps shows that to everybody). */
function spawnTool(bin: string, url: string, args: string[], stdoutFile?: string): Promise<void> {
  const u = new URL(url);
  const password = decodeURIComponent(u.password);
  u.password = '';
  return new Promise((resolve, reject) => {
    const out = stdoutFile ? fs.openSync(stdoutFile, 'w', 0o600) : 'ignore';
    const env = { ...process.env, ...(password ? { PGPASSWORD: password } : {}) };
    const proc = spawn(bin, [...args, `--dbname=${u.toString()}`], { stdio: ['ignore', out, 'pipe'], env });
    if (typeof out === 'number') fs.closeSync(out);
    let err = '';
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    proc.on('error', reject);
    proc.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${path.basename(bin)} failed (exit ${code}): ${err.trim().split('\n').slice(-3).join(' | ')}`)),
    );
  });
}

export interface PostgresDump {
  serverVersion: string;
  pgDumpVersion: string;
  tables: Record<string, number>;
  migrations: string[];
}

/**
 * Dumps the database to `file`. Row counts and the migration list are read in the very snapshot
 * pg_dump dumps (exported from a repeatable-read transaction held open meanwhile); `during`
 * runs once that snapshot exists (the stored files are linked then).
 */
export async function dumpPostgres(url: string, file: string, during: () => Promise<void>): Promise<PostgresDump> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { major, version } = await serverMajor(client);
    const tool = await findPgTool('pg_dump', major);
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const snapshot = (await client.query<{ s: string }>('SELECT pg_export_snapshot() AS s')).rows[0]!.s;
    const query = async (sql: string) => (await client.query(sql)).rows as Array<Record<string, unknown>>;
    const tables = await countRows(query);
    const migrations = await appliedMigrations(query);
    await during();
    await spawnTool(tool.bin, url, ['--format=custom', '--no-owner', '--no-privileges', `--snapshot=${snapshot}`], file);
    await client.query('COMMIT');
    return { serverVersion: version, pgDumpVersion: tool.version, tables, migrations };
  } finally {
    await client.end().catch(() => {});
  }
}

const SYSTEM_SCHEMAS = "('pg_catalog', 'information_schema', 'pg_toast')";

/** The tables of the database outside the system schemas (Tether's, pg-boss's, anybody's). */
export async function userTableCount(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const r = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ${SYSTEM_SCHEMAS} AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'`,
    );
    return r.rows[0]!.n;
  } finally {
    await client.end();
  }
}

/** Restores a custom-format dump into the database; with `replace`, drops every user schema (and what is in it) first. */
export async function restorePostgres(url: string, file: string, opts: { replace: boolean }): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  let major: number;
  try {
    major = (await serverMajor(client)).major;
    if (opts.replace) {
      const schemas = await client.query<{ name: string }>(
        `SELECT nspname AS name FROM pg_namespace WHERE nspname NOT IN ${SYSTEM_SCHEMAS} AND nspname NOT LIKE 'pg_temp%' AND nspname NOT LIKE 'pg_toast_temp%'`,
      );
      await client.query('BEGIN');
      for (const s of schemas.rows) await client.query(`DROP SCHEMA "${s.name.replaceAll('"', '""')}" CASCADE`);
      // pg_dump leaves out the public schema itself (every database has one).
      await client.query('CREATE SCHEMA public');
      await client.query('COMMIT');
    }
  } finally {
    await client.end();
  }
  const tool = await findPgTool('pg_restore', major);
  await spawnTool(tool.bin, url, ['--exit-on-error', '--single-transaction', '--no-owner', '--no-privileges', file]);
}
