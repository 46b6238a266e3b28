import type { Database, Queryable } from '../../platform/db/database.js';
import type { Logger } from '../../platform/observability/logger.js';
import type { DomainBus } from '../events/domain-events.js';
import { AlarmsRepository } from './alarms.repository.js';
import type { Alarm } from './alarms.schemas.js';
import { toAlarm } from './alarms.service.js';
import type { QuietHours } from './rule-logic.js';

/** An alarm raised or cleared, for the rule's notification targets. */
export interface AlarmNotification {
  historyId: string;
  event: 'alarm.raised' | 'alarm.cleared' | 'alarm.escalated';
  orgId: string;
  alarm: Alarm;
  targets: string[];
  /** The rule's quiet hours and storm limit (null: its rule was deleted). */
  rule: { id: string; quietHours: QuietHours | null; stormLimit: number | null } | null;
}

/** Who sends notifications: plans deliveries in the outbox's transaction, and sends them after its commit. */
export interface NotificationSink<P = unknown> {
  plan(notices: AlarmNotification[], tx: Queryable): Promise<P>;
  enqueue(planned: P): Promise<void>;
}

/** Outbox entries taken per transaction. */
const TAKE = 200;
/** A wake-up may be lost (the bus is at most once): the outbox is read this often anyway. */
const POLL_MS = 2_000;

/**
 * Hands raises and clears to the notifier. They are in the alarm history,
 * written by the statement that raised or cleared (so a crash after that
 * commit loses none), and taken here in a transaction that plans their
 * deliveries; at least once, and each delivery at most once per target.
 * Runs on worker nodes; several take different entries (SKIP LOCKED).
 */
export class AlarmOutbox {
  private readonly repo: AlarmsRepository;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(
    db: Database,
    private readonly bus: DomainBus,
    private readonly logger: Logger,
    private readonly sink: NotificationSink,
  ) {
    this.repo = new AlarmsRepository(db);
  }

  start(): void {
    this.bus.on('alarm.changed', () => this.wake());
    this.timer = setInterval(() => this.wake(), POLL_MS);
    this.timer.unref();
    this.wake();
  }

  /** Takes nothing more, and waits for the drain under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.idle();
  }

  /** Drains now, or once more after the drain under way. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((err: unknown) => this.logger.warn({ err }, 'alarm notification outbox failed; retrying'))
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** Waits for the drain under way (tests). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    for (;;) {
      let planned: unknown = null;
      const taken = await this.repo.takeUnnotified(TAKE, async (items, tx) => {
        const notices = items
          .filter((i) => i.notify.length)
          .map((i) => ({
            historyId: i.historyId,
            event: `alarm.${i.event}` as const,
            orgId: i.alarm.org_id,
            alarm: toAlarm(i.alarm),
            targets: i.notify,
            rule: i.rule,
          }));
        planned = notices.length ? await this.sink.plan(notices, tx) : null;
      });
      if (planned !== null) await this.sink.enqueue(planned);
      if (taken < TAKE) return;
    }
  }
}
