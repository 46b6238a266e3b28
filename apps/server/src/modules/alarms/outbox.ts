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

/** Who sends notifications: plans deliveries (committed, each unique per entry and target), then sends them. */
export interface NotificationSink<P = unknown> {
  plan(notices: AlarmNotification[], db: Queryable): Promise<P>;
  enqueue(planned: P): Promise<void>;
}

/** Outbox entries taken at a time. */
const TAKE = 200;
/** A wake-up may be lost (the bus is at most once): the outbox is read this often anyway. */
const POLL_MS = 2_000;

/**
 * Hands raises, clears and escalations to the notifier. They are in the alarm
 * history, written by the statement that raised or cleared (so a crash after
 * that commit loses none). Each is planned (its deliveries committed), sent,
 * then marked handed on: three statements, no transaction, so the first
 * delivery starts after two round trips. Handing an entry on twice (a crash
 * before the mark, or two worker nodes at once) plans nothing twice: a
 * delivery is unique per entry and target. Runs on worker nodes.
 */
export class AlarmOutbox {
  private readonly repo: AlarmsRepository;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(
    private readonly db: Database,
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
      const items = await this.repo.unnotified(TAKE);
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
      // Planned (committed), sent, then out of the outbox: a crash before the last step plans nothing twice, and a
      // delivery planned but not sent is queued by the stranded-delivery sweep.
      if (notices.length) await this.sink.enqueue(await this.sink.plan(notices, this.db));
      await this.repo.markNotified(items.map((i) => i.historyId));
      if (items.length < TAKE) return;
    }
  }
}
