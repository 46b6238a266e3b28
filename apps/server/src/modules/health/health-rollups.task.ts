import type { Database } from '../../platform/db/database.js';
import type { Logger } from '../../platform/observability/logger.js';
import { rollUpHeartbeats } from './health.repository.js';

/**
 * The worker's run of rollUpHeartbeats, every minute and once at start. One node
 * at a time; failures are logged, never thrown.
 */
export function startHeartbeatRollups(db: Database, logger: Logger, intervalMs = 60_000) {
  let running: Promise<void> | null = null;
  const run = () =>
    (running ??= (async () => {
      try {
        const hours = await db.withExclusiveLock('tether-heartbeat-rollups', () => rollUpHeartbeats(db));
        if (hours > LOGGED_HOURS) logger.info({ hours }, 'heartbeat rollups rebuilt');
      } catch (err) {
        logger.warn({ err }, 'heartbeat rollups failed; will retry');
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

/** Every run rebuilds the last few hours; only a catch-up is worth a log line. */
const LOGGED_HOURS = 6;
