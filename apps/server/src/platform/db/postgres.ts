import pg from 'pg';
import type { Database, Transaction } from './database.js';

// Timestamps and big numbers come back as Date and number on both drivers.
const types = new pg.TypeOverrides();
types.setTypeParser(20, (v) => Number(v)); // int8
types.setTypeParser(1700, (v) => Number(v)); // numeric

export async function openPostgres(url: string, poolSize: number): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, types, application_name: 'tether' });
  // An idle client that errors (server restart) must not crash the process.
  pool.on('error', () => {});
  const client = await pool.connect();
  client.release();

  /*
   * A client taken out of the pool has no 'error' listener of the pool's: when the server
   * ends its connection (a restart, a failover) the client emits 'error', and unheard, that
   * is an uncaught exception that ends the process (seen in the outage test, ECONNRESET).
   * Its queries fail by themselves; the error is kept so that release() drops the client.
   */
  const checkout = async () => {
    const c = await pool.connect();
    let broken: Error | undefined;
    const onError = (err: Error) => (broken ??= err);
    c.on('error', onError);
    return {
      c,
      /** With an error (or after one), the client is closed instead of going back to the pool. */
      release(err?: Error) {
        c.removeListener('error', onError);
        c.release(broken ?? err);
      },
    };
  };

  const query = async <T>(q: pg.Pool | pg.PoolClient, sql: string, params?: readonly unknown[]): Promise<T[]> => {
    const res = await q.query(sql, params as unknown[] | undefined);
    return res.rows as T[];
  };

  return {
    kind: 'postgres',
    jobsConnection: { connectionString: url },
    maxConcurrency: Math.max(1, Math.floor(poolSize / 2)),
    query: (sql, params) => query(pool, sql, params),
    async queryPrepared<T>(name: string, sql: string, params: readonly unknown[]) {
      const res = await pool.query({ name, text: sql, values: params as unknown[] });
      return res.rows as T[];
    },
    async transaction(fn) {
      const { c, release } = await checkout();
      try {
        await c.query('BEGIN');
        const tx: Transaction = {
          query: (sql, params) => query(c, sql, params),
          exec: async (sql) => {
            await c.query(sql);
          },
        };
        const result = await fn(tx);
        await c.query('COMMIT');
        return result;
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        release();
      }
    },
    async exec(sql) {
      await pool.query(sql);
    },
    async withExclusiveLock(name, fn) {
      const { c, release } = await checkout();
      let unlockFailed: Error | undefined;
      try {
        await c.query('SELECT pg_advisory_lock(hashtext($1))', [name]);
        try {
          return await fn();
        } finally {
          // If this fails the connection is gone or going: closing it ends the session, and the lock with it.
          unlockFailed = await c.query('SELECT pg_advisory_unlock(hashtext($1))', [name]).then(
            () => undefined,
            (err: Error) => err,
          );
        }
      } finally {
        release(unlockFailed);
      }
    },
    async ping() {
      try {
        await pool.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
    close: () => pool.end(),
  };
}
