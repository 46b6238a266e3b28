import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database } from './database.js';

/** Same depth from src/ and dist/: apps/server/migrations. */
export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../migrations');

/** Applies the ordered plain-SQL migrations that have not run yet, each in its own transaction. */
export async function migrate(db: Database, dir = MIGRATIONS_DIR): Promise<string[]> {
  return db.withExclusiveLock('tether-migrations', async () => {
    await db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await db.query<{ version: string }>('SELECT version FROM schema_migrations')).map((r) => r.version));
    const files = fs
      .readdirSync(dir)
      .filter((f) => /^\d+_.+\.sql$/.test(f))
      .sort();
    const applied: string[] = [];
    for (const file of files) {
      if (done.has(file)) continue;
      const sql = fs.readFileSync(path.join(dir, file), 'utf8');
      await db.transaction(async (tx) => {
        await tx.exec(sql);
        await tx.query('INSERT INTO schema_migrations (version) VALUES ($1)', [file]);
      });
      applied.push(file);
    }
    return applied;
  });
}

const PARTITIONED_TABLES = ['telemetry', 'heartbeats', 'locations', 'messages'] as const;

/** Creates daily partitions from yesterday to a week ahead; the worker calls it hourly. */
export async function ensurePartitions(db: Database, now = new Date()): Promise<number> {
  const from = new Date(now.getTime() - 86400_000).toISOString().slice(0, 10);
  // CREATE TABLE IF NOT EXISTS is not safe against itself: two nodes starting together both
  // saw no partition and one failed with "already exists" (issue 12). One node at a time.
  return db.withExclusiveLock('tether-partitions', async () => {
    let created = 0;
    for (const t of PARTITIONED_TABLES) {
      const rows = await db.query<{ n: number }>('SELECT tether_ensure_partitions($1, $2::date, 9) AS n', [t, from]);
      created += rows[0]?.n ?? 0;
    }
    return created;
  });
}
