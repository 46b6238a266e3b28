import type { Database } from '../../platform/db/database.js';
import { startPeriodic } from '../../platform/jobs/periodic.js';
import type { Logger } from '../../platform/observability/logger.js';
import { HealthScanner } from './health-scan.js';
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

/**
 * The worker's early-warning scan (health-scan.ts), every `intervalMs` and once
 * at start. One node at a time; failures are logged, never thrown.
 */
export function startHealthScan(db: Database, logger: Logger, intervalMs: number) {
  const scanner = new HealthScanner(db);
  return startPeriodic({
    db,
    logger,
    lockName: 'tether-health-scan',
    intervalMs,
    task: () => scanner.scan(),
    done: (r) => logger.debug({ kind: r.kind, assessed: r.assessed, warned: r.warned, beats: r.beatsRead, ms: Math.round(r.durationMs) }, 'health scan'),
    failure: 'health scan failed; will retry',
  });
}
