import type { Database } from '../db/database.js';
import { ensurePartitions } from '../db/migrate.js';
import type { Logger } from '../observability/logger.js';

/**
 * The worker role's periodic upkeep (hourly): daily partitions ahead of time,
 * retention of the raw message history by dropping whole partitions, and the
 * tasks modules add (device file retention). None needs a queue.
 */
export function startMaintenance(
  db: Database,
  logger: Logger,
  opts: { messageRetentionDays: number; intervalMs?: number; tasks?: { name: string; run: () => Promise<unknown> }[] },
) {
  const run = async () => {
    try {
      const created = await ensurePartitions(db);
      const before = new Date(Date.now() - opts.messageRetentionDays * 86400_000).toISOString().slice(0, 10);
      const [r] = await db.query<{ n: number }>('SELECT tether_drop_partitions_before($1, $2::date) AS n', ['messages', before]);
      await db.query('DELETE FROM messages_default WHERE received_at < $1::date', [before]);
      if (created || r?.n) logger.info({ created, droppedMessagePartitions: r?.n ?? 0 }, 'partition maintenance');
    } catch (err) {
      logger.warn({ err }, 'partition maintenance failed; will retry');
    }
    for (const task of opts.tasks ?? []) {
      await task.run().catch((err: unknown) => logger.warn({ err, task: task.name }, 'maintenance task failed; will retry'));
    }
  };
  const timer = setInterval(() => void run(), opts.intervalMs ?? 3600_000);
  timer.unref();
  return { run, stop: () => clearInterval(timer) };
}
