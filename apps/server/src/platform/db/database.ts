/** The narrow database interface every repository uses; PGlite and pg both implement it. */

export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
}

export interface Transaction extends Queryable {
  /** Runs a multi-statement script inside the transaction. */
  exec(sql: string): Promise<void>;
}

export interface Database extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /**
   * A hot statement, prepared once per connection under `name` so Postgres stops planning it
   * on every call (one name, one text). PGlite runs it as a plain query.
   */
  queryPrepared<T = Record<string, unknown>>(name: string, sql: string, params: readonly unknown[]): Promise<T[]>;
  /** Runs fn in one transaction; rolls back if it throws. */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
  /** Runs a multi-statement script (migrations). */
  exec(sql: string): Promise<void>;
  /** Runs fn while holding a cluster-wide lock, so two nodes never run it at once. */
  withExclusiveLock<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /** How many transactions may usefully run at once (1 for the single-connection PGlite). */
  readonly maxConcurrency: number;
  ping(): Promise<boolean>;
  /**
   * PGlite only: runs fn after a CHECKPOINT with every other statement held back, so the
   * files under `pgdata` (its argument) are a consistent copy source while fn runs.
   */
  holdWrites?<T>(fn: (pgdata: string) => Promise<T>): Promise<T>;
  /** How pg-boss reaches this database: its own pool on PostgreSQL, this connection on PGlite. */
  readonly jobsConnection: { connectionString: string } | { executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[]; rowCount: number }> };
  close(): Promise<void>;
}

/**
 * The database cannot be reached right now (stopped, restarting, failing over), as
 * opposed to a statement it refused: node-postgres socket errors, SQLSTATE class 08
 * (connection exception), 57P01–57P03 (shut down by an administrator, crash
 * shutdown, cannot connect now) and a database closed to connections. Worth
 * retrying later.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN'].includes(code)) return true;
  if (/^08...$/.test(code) || ['57P01', '57P02', '57P03'].includes(code)) return true;
  const message = typeof e?.message === 'string' ? e.message : '';
  // 55000 is generic; with this message it is a database closed to connections (ALLOW_CONNECTIONS false, maintenance).
  return /^Connection terminated|^Client has encountered a connection error|timeout exceeded when trying to connect|is not currently accepting connections/.test(
    message,
  );
}

export interface DatabaseOptions {
  databaseUrl: string | null;
  dataDir: string;
  poolSize?: number;
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  if (opts.databaseUrl) {
    const { openPostgres } = await import('./postgres.js');
    return openPostgres(opts.databaseUrl, opts.poolSize ?? 10);
  }
  const { openPglite } = await import('./pglite.js');
  return openPglite(opts.dataDir);
}
