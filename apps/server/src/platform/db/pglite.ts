import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite, types } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import type { Database, Transaction } from './database.js';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

const parsers = { [types.INT8]: (v: string) => Number(v), [types.NUMERIC]: (v: string) => Number(v) };

/** Written by `npm run build` (scripts/build-pglite-template.mjs): an initialized empty cluster. */
const TEMPLATE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../dist/pglite-template');

/**
 * PGlite's shared memory lives in its WASM heap, which only grows. Postgres'
 * default 128 MB of shared buffers took about 115 MB of an idle server's
 * memory. With 32 MB, bench 1 on PGlite still did 21K msg/s (10K before this
 * and the event-loop slicing below); table pages also sit in the operating
 * system's page cache.
 */
const START_PARAMS = [...PGlite.defaultStartParams, '-c', 'shared_buffers=32MB'];

/**
 * Extensions the migrations create (030: pg_trgm, search's trigram indexes). A
 * data dir that has them must always be opened with them: its indexes need them.
 */
const EXTENSIONS = { pg_trgm };

export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `The data dir ${dataDir} is in use by process ${pid} (a running Tether?). Stop it first; if no Tether runs, remove ${path.join(dataDir, LOCK_FILE)}.`,
    );
  }
}
export const LOCK_FILE = 'tether.pid';

/**
 * One process at a time may open an embedded database: a second one (another
 * `tether start`, `tether admin …` beside a running server) would corrupt it.
 * The owner's pid is kept in dataDir/tether.pid; a file left by a process that
 * died (kill -9) is taken over.
 */
export function lockDataDir(dataDir: string): () => void {
  const file = path.join(dataDir, LOCK_FILE);
  const held = Number.parseInt(fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '', 10);
  if (Number.isInteger(held) && held !== process.pid && alive(held)) throw new DataDirInUseError(dataDir, held);
  fs.writeFileSync(file, String(process.pid));
  return () => {
    try {
      if (fs.readFileSync(file, 'utf8') === String(process.pid)) fs.rmSync(file);
    } catch {
      // gone already
    }
  };
}
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The embedded database: a WASM Postgres whose files live under dataDir/pgdata. */
export async function openPglite(dataDir: string): Promise<Database> {
  const dir = path.join(dataDir, 'pgdata');
  fs.mkdirSync(dir, { recursive: true });
  const unlock = lockDataDir(dataDir);
  // A new data dir starts as a copy of the template when there is one; initdb otherwise.
  if (!fs.existsSync(path.join(dir, 'PG_VERSION')) && fs.existsSync(path.join(TEMPLATE, 'PG_VERSION'))) {
    fs.cpSync(TEMPLATE, dir, { recursive: true, filter: (src) => path.basename(src) !== 'TETHER_TEMPLATE_VERSION' });
  }
  let db: PGlite;
  try {
    db = await PGlite.create(dir, { parsers, startParams: START_PARAMS, extensions: EXTENSIONS });
  } catch (err) {
    unlock();
    throw err;
  }
  let closed = false;

  // PGlite runs each statement synchronously on this thread, and its lock hands over to
  // the next waiting query in a microtask, so queued queries would run back to back
  // without ever letting the event loop poll sockets: under ingest load, new MQTT and
  // HTTP connections then waited in the kernel's accept queue for tens of seconds.
  // Each operation therefore starts in its own event-loop turn, after I/O has been polled.
  let tail: Promise<unknown> = Promise.resolve();
  const serial = <T>(op: () => Promise<T>): Promise<T> => {
    const run = tail.then(nextTurn).then(op);
    tail = run.catch(() => undefined);
    return run;
  };

  return {
    kind: 'pglite',
    jobsConnection: {
      // pg-boss sends multi-statement scripts without parameters; only exec accepts those.
      async executeSql(text: string, values?: unknown[]) {
        if (!values || values.length === 0) {
          const results = await serial(() => db.exec(text));
          const last = results[results.length - 1];
          return { rows: last?.rows ?? [], rowCount: last?.affectedRows ?? last?.rows.length ?? 0 };
        }
        const r = await serial(() => db.query(text, values));
        return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
      },
    },
    maxConcurrency: 1,
    async query<T>(sql: string, params?: readonly unknown[]) {
      const res = await serial(() => db.query<T>(sql, params as unknown[] | undefined));
      return res.rows;
    },
    // One connection, one session: nothing to gain from preparing, so a plain query.
    async queryPrepared<T>(_name: string, sql: string, params: readonly unknown[]) {
      return (await serial(() => db.query<T>(sql, params as unknown[]))).rows;
    },
    transaction<T>(fn: (tx: Transaction) => Promise<T>) {
      return serial(() =>
        db.transaction(async (t) =>
          fn({
            async query<R>(sql: string, params?: readonly unknown[]) {
              const res = await t.query<R>(sql, params as unknown[] | undefined);
              return res.rows;
            },
            async exec(sql: string) {
              await t.exec(sql);
            },
          }),
        ),
      );
    },
    async exec(sql) {
      await serial(() => db.exec(sql));
    },
    holdWrites: (fn) =>
      serial(async () => {
        await db.exec('CHECKPOINT');
        return fn(dir);
      }),
    // One process owns the data dir, so an in-process lock is enough.
    withExclusiveLock: (_name, fn) => fn(),
    async ping() {
      if (closed) return false;
      try {
        await serial(() => db.query('SELECT 1'));
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      // What is queued runs first; and what a caller issues in the turns right after (pg-boss
      // completes a job a moment after its stop() has resolved) too.
      for (let i = 0; i < 3; i++) {
        await tail;
        await nextTurn();
      }
      await db.close();
      unlock();
    },
  };
}
