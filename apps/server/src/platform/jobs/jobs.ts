import PgBoss from 'pg-boss';
import type { Database } from '../db/database.js';
import type { Logger } from '../observability/logger.js';

export type JobHandler<T> = (data: T) => Promise<void>;

/** Background jobs on pg-boss, in the same database (PGlite or PostgreSQL). */
export interface Jobs {
  send<T extends object>(queue: string, data: T, opts?: { startAfter?: Date; singletonKey?: string }): Promise<void>;
  /** Only the worker role calls this. */
  work<T extends object>(queue: string, handler: JobHandler<T>): Promise<void>;
  stop(): Promise<void>;
}

export async function startJobs(db: Database, logger: Logger, queues: string[]): Promise<Jobs> {
  const conn = db.jobsConnection;
  const boss = new PgBoss({
    ...('connectionString' in conn ? { connectionString: conn.connectionString, max: 4 } : { db: conn }),
    schema: 'pgboss',
    application_name: 'tether-jobs',
    supervise: true,
    schedule: false,
    migrate: true,
  });
  boss.on('error', (err: Error) => logger.warn({ err }, 'job queue error'));
  // Two nodes starting together on a fresh database deadlocked in createQueue (issue 12):
  // pg-boss's install and the queues are set up by one node at a time.
  await db.withExclusiveLock('tether-jobs-setup', async () => {
    await boss.start();
    for (const q of queues) {
      if (!(await boss.getQueue(q))) await boss.createQueue(q);
    }
  });
  return {
    async send(queue, data, opts) {
      await boss.send(queue, data, { startAfter: opts?.startAfter, singletonKey: opts?.singletonKey, retryLimit: 3 });
    },
    async work(queue, handler) {
      await boss.work<object>(queue, { pollingIntervalSeconds: 0.5, batchSize: 20 }, async (jobs) => {
        for (const job of jobs) await handler(job.data as never);
      });
    },
    async stop() {
      await boss.stop({ graceful: true, wait: true, timeout: 5000 });
    },
  };
}
