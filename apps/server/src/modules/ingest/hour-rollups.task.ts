import type { Database } from '../../platform/db/database.js';
import { startPeriodic } from '../../platform/jobs/periodic.js';
import type { Logger } from '../../platform/observability/logger.js';
import { finalizeHourRollups } from './ingest.repository.js';

/**
 * The worker's run of finalizeHourRollups, every minute and once at start
 * (after downtime there may be many hours to rebuild). One node at a time;
 * failures are logged, never thrown.
 */
export function startHourRollups(db: Database, logger: Logger, intervalMs = 60_000) {
  return startPeriodic({
    db,
    logger,
    lockName: 'tether-hour-rollups',
    intervalMs,
    task: () => finalizeHourRollups(db),
    done: (hours) => {
      if (hours) logger.info({ hours }, 'hour rollups rebuilt from the minute rollups');
    },
    failure: 'hour rollups failed; will retry',
  });
}
