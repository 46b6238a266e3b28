import type { Database } from '../../platform/db/database.js';
import type { Logger } from '../../platform/observability/logger.js';
import { finalizeHourRollups } from './ingest.repository.js';

/**
 * The worker's run of finalizeHourRollups, every minute and once at start
 * (after downtime there may be many hours to rebuild). One node at a time;
 * failures are logged, never thrown.
 */
export function startHourRollups(db: Database, logger: Logger, intervalMs = 60_000) {
  let running: Promise<void> | null = null;
  const run = () =>
    (running ??= (async () => {
      try {
        const hours = await db.withExclusiveLock('tether-hour-rollups', () => finalizeHourRollups(db));
        if (hours) logger.info({ hours }, 'hour rollups rebuilt from the minute rollups');
      } catch (err) {
        logger.warn({ err }, 'hour rollups failed; will retry');
      } finally {
        running = null;
      }
    })());
  const timer = setInterval(() => void run(), intervalMs);
  timer.unref();
  return {
    run,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
