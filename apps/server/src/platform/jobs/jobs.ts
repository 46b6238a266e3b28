import PgBoss from 'pg-boss';
import type { Database, Queryable } from '../db/database.js';
import type { Logger } from '../observability/logger.js';

export type JobHandler<T> = (data: T) => Promise<void>;

/** Background jobs on pg-boss, in the same database (PGlite or PostgreSQL). */
export interface Jobs {
  send<T extends object>(queue: string, data: T, opts?: SendOptions): Promise<void>;
  /**
   * Only the worker role calls this. `concurrency` workers each take one job at
   * a time, so one slow job holds up no other; a handler that throws fails its
   * job, which is tried again as its send options say.
   */
  work<T extends object>(queue: string, handler: JobHandler<T>, opts?: { concurrency?: number }): Promise<void>;
  /** Wakes this node's workers of the queue now rather than at their next poll. */
  wake(queue: string): void;
  stop(): Promise<void>;
}

export interface SendOptions {
  startAfter?: Date;
  /** At most one job with this key waits at a time. */
  singletonKey?: string;
  /** Tries after the first (default 3). */
  retryLimit?: number;
  /** Seconds before the first retry; with retryBackoff, doubling each time (with jitter). */
  retryDelay?: number;
  retryBackoff?: boolean;
  /** How long one try may run before pg-boss takes it for dead and tries again (default 15 minutes). */
  expireInSeconds?: number;
  /** Insert the job in this transaction: it exists if and only if the transaction commits. */
  tx?: Queryable;
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
  const workers = new Map<string, string[]>();
  return {
    async send(queue, data, opts) {
      // pg-boss checks every option it is given: leave out the ones not set.
      const options = Object.fromEntries(
        Object.entries({
          startAfter: opts?.startAfter,
          singletonKey: opts?.singletonKey,
          retryLimit: opts?.retryLimit ?? 3,
          retryDelay: opts?.retryDelay,
          retryBackoff: opts?.retryBackoff,
          expireInSeconds: opts?.expireInSeconds,
        }).filter(([, v]) => v !== undefined),
      );
      const tx = opts?.tx;
      await boss.send(
        queue,
        data,
        tx ? { ...options, db: { executeSql: async (text: string, values: unknown[]) => ({ rows: await tx.query(text, values) }) } } : options,
      );
    },
    async work(queue, handler, opts) {
      const ids: string[] = [];
      if (opts?.concurrency) {
        for (let i = 0; i < opts.concurrency; i++) {
          let id = '';
          // pg-boss waits out its polling interval after every fetch, even one that found a job: a
          // worker that just ran one asks again at once, so it sleeps only when the queue is empty.
          id = await boss.work<object>(queue, { pollingIntervalSeconds: 0.5, batchSize: 1 }, async ([job]) => {
            try {
              await handler(job!.data as never);
            } finally {
              if (id) boss.notifyWorker(id);
            }
          });
          ids.push(id);
        }
      } else {
        ids.push(
          await boss.work<object>(queue, { pollingIntervalSeconds: 0.5, batchSize: 20 }, async (jobs) => {
            for (const job of jobs) await handler(job.data as never);
          }),
        );
      }
      workers.set(queue, [...(workers.get(queue) ?? []), ...ids]);
    },
    wake(queue) {
      for (const id of workers.get(queue) ?? []) boss.notifyWorker(id);
    },
    async stop() {
      await boss.stop({ graceful: true, wait: true, timeout: 5000 });
    },
  };
}
