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
      const c = await pool.connect();
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
        c.release();
      }
    },
    async exec(sql) {
      await pool.query(sql);
    },
    async withExclusiveLock(name, fn) {
      const c = await pool.connect();
      try {
        await c.query('SELECT pg_advisory_lock(hashtext($1))', [name]);
        try {
          return await fn();
        } finally {
          await c.query('SELECT pg_advisory_unlock(hashtext($1))', [name]);
        }
      } finally {
        c.release();
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
