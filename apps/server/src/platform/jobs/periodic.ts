import type { Database } from '../db/database.js';
import type { Logger } from '../observability/logger.js';

/**
 * A worker task run every `intervalMs` (and whenever `run()` is called), one node of the cluster
 * at a time (`lockName`), never two runs at once in this process. `done` hears what a run returned;
 * failures are logged, never thrown. `stop()` waits for a run under way.
 */
export function startPeriodic<T>(opts: {
  db: Database;
  logger: Logger;
  lockName: string;
  intervalMs: number;
  task: () => Promise<T>;
  done?: (result: T) => void;
  failure: string;
}) {
  let running: Promise<void> | null = null;
  const run = () =>
    (running ??= (async () => {
      try {
        opts.done?.(await opts.db.withExclusiveLock(opts.lockName, opts.task));
      } catch (err) {
        opts.logger.warn({ err }, opts.failure);
      } finally {
        running = null;
      }
    })());
  const timer = setInterval(() => void run(), opts.intervalMs);
  timer.unref();
  return {
    run,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
