import type { Database } from '../db/database.js';
import { ensurePartitions } from '../db/migrate.js';
import type { Logger } from '../observability/logger.js';

/**
 * The worker role's periodic upkeep: daily partitions ahead of time, and
 * retention of the raw message history by dropping whole partitions.
 * (pg-boss arrives with the commands issue; these two need no queue.)
 */
export function startMaintenance(db: Database, logger: Logger, opts: { messageRetentionDays: number; intervalMs?: number }) {
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
  };
  const timer = setInterval(() => void run(), opts.intervalMs ?? 3600_000);
  timer.unref();
  return { run, stop: () => clearInterval(timer) };
}
