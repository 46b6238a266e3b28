import type { Database } from '../../platform/db/database.js';
import { startPeriodic } from '../../platform/jobs/periodic.js';
import type { Logger } from '../../platform/observability/logger.js';
import { rollUpHeartbeats } from './health.repository.js';

/**
 * The worker's run of rollUpHeartbeats, every minute and once at start. One node
 * at a time; failures are logged, never thrown.
 */
export function startHeartbeatRollups(db: Database, logger: Logger, intervalMs = 60_000) {
  return startPeriodic({
    db,
    logger,
    lockName: 'tether-heartbeat-rollups',
    intervalMs,
    task: () => rollUpHeartbeats(db),
    done: (hours) => {
      if (hours > LOGGED_HOURS) logger.info({ hours }, 'heartbeat rollups rebuilt');
    },
    failure: 'heartbeat rollups failed; will retry',
  });
}

/** Every run rebuilds the last few hours; only a catch-up is worth a log line. */
const LOGGED_HOURS = 6;
