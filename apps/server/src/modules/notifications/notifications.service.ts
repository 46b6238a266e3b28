import { randomBytes } from 'node:crypto';
import type { Database, Queryable } from '../../platform/db/database.js';
import type { Jobs } from '../../platform/jobs/jobs.js';
import { Mailer } from '../../platform/notify/mailer.js';
import { isThisMachine, postWebhook } from '../../platform/notify/webhook.js';
import { quietUntil, type QuietHours } from '../alarms/rule-logic.js';
import type { Logger } from '../../platform/observability/logger.js';
import { requireRole, type Actor } from '../accounts/actor.js';
import { AppError, assertUuid } from '../errors.js';
import { DirectDispatcher } from './dispatcher.js';
import { NotificationsRepository, type DeliveryRow, type TargetRow } from './notifications.repository.js';
import type { NotificationDelivery, NotificationTarget, NotificationTargetInput } from './notifications.schemas.js';
import { AuditLog } from '../audit/audit.repository.js';

export const DELIVER_QUEUE = 'notification-deliver';
export const SUMMARY_QUEUE = 'notification-summary';
/** Tries after the first, and the first retry's delay (s), doubling with jitter: about 2 s, 4 s, … 17 min. */
const RETRIES = 10;
const RETRY_DELAY_S = 2;
/** Deliveries in flight on one worker node at once: a receiver that hangs holds one of them up to its timeout, no more. */
const CONCURRENCY = 4;
/** First attempts made at once by the node that planned them: in flight in all, per target, and waiting per target (more: jobs). */
const DIRECT = { total: 64, perTarget: 16, backlog: 5_000 };
/** A delivery planned this long ago, neither sent nor queued, lost its node before its first attempt (attempts time out well before). */
const STRANDED_MS = 120_000;
const RECOVER_MS = 30_000;

const notFound = (what: 'TARGET' | 'DELIVERY', id: string) => new AppError(`${what}_NOT_FOUND`, `${what.toLowerCase()} ${id} not found`);

const toTarget = (r: TargetRow): NotificationTarget => ({
  id: r.id,
  name: r.name,
  kind: r.kind,
  config:
    r.kind === 'webhook'
      ? { url: r.config.url! }
      : {
          to: r.config.to ?? [],
          ...(r.config.users?.length ? { users: r.config.users } : {}),
          ...(r.config.roles?.length ? { roles: r.config.roles as ('owner' | 'admin' | 'operator' | 'viewer')[] } : {}),
        },
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

const toDelivery = (d: DeliveryRow): NotificationDelivery => ({
  id: d.id,
  targetId: d.target_id,
  alarmId: d.alarm_id,
  event: d.event,
  status: d.status,
  attempts: d.attempts,
  lastStatusCode: d.last_status_code,
  lastError: d.last_error,
  createdAt: d.created_at.toISOString(),
  deliveredAt: d.delivered_at?.toISOString() ?? null,
  deliverAfter: d.deliver_after?.toISOString() ?? null,
});

/** What a notification says about an alarm: the body of a webhook, the text of an e-mail. */
export interface AlarmNotice {
  historyId: string | null;
  event: 'alarm.raised' | 'alarm.cleared' | 'alarm.escalated';
  orgId: string;
  alarm: { id: string; deviceId: string; deviceName: string; ruleName: string; severity: string; message: string; state: string; value: unknown } & Record<
    string,
    unknown
  >;
  targets: string[];
  /** The rule's quiet hours and storm limit. */
  rule: { id: string; quietHours: QuietHours | null; stormLimit: number | null } | null;
}

/** Deliveries planned in the outbox's transaction, sent after its commit. */
export interface Planned {
  deliveries: { id: string; targetId: string; startAfter: Date | null; row?: DeliveryRow & { target: TargetRow | null } }[];
  /** Storm summaries to send at the end of their hour. */
  summaries: { ruleId: string; hourStart: Date }[];
}

const HOUR_MS = 3_600_000;
const hourStart = (at: Date) => new Date(Math.floor(at.getTime() / HOUR_MS) * HOUR_MS);

export interface NotificationsDeps {
  db: Database;
  jobs: Jobs | null;
  logger: Logger;
  smtp: { url: string; from: string } | null;
  /** Where Tether itself listens: a webhook there is refused (it would post to itself). */
  selfPort: () => number;
  /** Members as e-mail recipients: checked when a target is made, their addresses read when a notification is sent. */
  members: {
    getUser(actor: Actor, id: string): Promise<unknown>;
    memberEmails(orgId: string, recipients: { users: string[]; roles: string[] }): Promise<string[]>;
  };
}

/**
 * Where alarms are sent (webhook, e-mail), and the deliveries: each one a row
 * with its attempts and last status. The worker node that planned a delivery
 * makes its first attempt at once (up to DIRECT at a time); a failed attempt,
 * one held by quiet hours, and any beyond DIRECT become pg-boss jobs, retried
 * with exponential backoff, several at a time, so that a receiver that hangs
 * or fails holds up nothing else. A delivery whose node stopped before its
 * first attempt is queued by a worker after STRANDED_MS: at least once, and
 * the `x-tether-delivery` header lets a receiver drop a repeat.
 */
export class NotificationsService {
  private readonly repo: NotificationsRepository;
  private readonly audit: AuditLog;
  private readonly mailer: Mailer | null;
  /** Aborted on close: a receiver that hangs does not hold the shutdown up. */
  private readonly stopping = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  /** First attempts made at once, on a worker node (null elsewhere: everything goes through the job queue). */
  private direct: DirectDispatcher | null = null;
  private recoverTimer: NodeJS.Timeout | null = null;
  /** Attempts' results waiting to be written, in one statement per turn (group commit). */
  private records: { id: string; ok: boolean; status: number | null; error: string | null; done: (err?: unknown) => void }[] = [];
  private recording: Promise<void> | null = null;
  /** Deliveries offered to the dispatcher as planned, so that their first attempt reads nothing. */
  private readonly preloaded = new Map<string, DeliveryRow & { target: TargetRow | null }>();

  constructor(private readonly deps: NotificationsDeps) {
    this.repo = new NotificationsRepository(deps.db);
    this.audit = new AuditLog(deps.db);
    this.mailer = deps.smtp ? new Mailer(deps.smtp.url, deps.smtp.from) : null;
  }

  async list(actor: Actor) {
    return { items: (await this.repo.targets(actor.orgId)).map(toTarget) };
  }

  async get(actor: Actor, id: string): Promise<NotificationTarget> {
    const t = await this.repo.target(actor.orgId, assertUuid(id, 'target id'));
    if (!t) throw notFound('TARGET', id);
    return toTarget(t);
  }

  async create(actor: Actor, input: NotificationTargetInput): Promise<NotificationTarget & { secret: string | null }> {
    requireRole(actor, 'admin');
    const config = await this.checkConfig(actor, input.kind, input.config);
    const secret = input.kind === 'webhook' ? randomBytes(24).toString('base64url') : null;
    const row = await this.repo
      .insertTarget({ orgId: actor.orgId, name: input.name.trim(), kind: input.kind, config: secret ? { ...config, secret } : config })
      .catch(nameTaken(input.name));
    // Name and kind only: a webhook's address or headers may carry a credential.
    await this.audit.record({
      orgId: actor.orgId,
      actor,
      action: 'notification_target.create',
      targetKind: 'notification_target',
      targetId: row.id,
      details: { name: row.name, kind: row.kind },
    });
    return { ...toTarget(row), secret };
  }

  async update(actor: Actor, id: string, input: NotificationTargetInput): Promise<NotificationTarget> {
    requireRole(actor, 'admin');
    const held = await this.repo.target(actor.orgId, assertUuid(id, 'target id'));
    if (!held) throw notFound('TARGET', id);
    if (input.kind !== held.kind) throw new AppError('TARGET_INVALID', `a target's kind stays ${held.kind}; make another target`);
    const config = await this.checkConfig(actor, input.kind, input.config);
    const row = await this.repo
      .updateTarget(actor.orgId, held.id, { name: input.name.trim(), config: { ...config, secret: held.config.secret } })
      .catch(nameTaken(input.name));
    await this.audit.record({
      orgId: actor.orgId,
      actor,
      action: 'notification_target.update',
      targetKind: 'notification_target',
      targetId: held.id,
      details: { name: input.name.trim(), kind: held.kind },
    });
    return toTarget(row!);
  }

  async delete(actor: Actor, id: string): Promise<void> {
    requireRole(actor, 'admin');
    const held = await this.repo.target(actor.orgId, assertUuid(id, 'target id'));
    if (!held || !(await this.repo.deleteTarget(actor.orgId, held.id))) throw notFound('TARGET', id);
    await this.audit.record({
      orgId: actor.orgId,
      actor,
      action: 'notification_target.delete',
      targetKind: 'notification_target',
      targetId: held.id,
      details: { name: held.name },
    });
  }

  /** For alarm rules: these are targets of the actor's org (TARGET_NOT_FOUND otherwise). */
  async assertInOrg(actor: Actor, ids: string[]): Promise<string[]> {
    const unique = [...new Set(ids.map((id) => assertUuid(id, 'target id')))];
    if (!unique.length) return [];
    const found = new Set(await this.repo.targetIds(actor.orgId, unique));
    const missing = unique.find((id) => !found.has(id));
    if (missing) throw notFound('TARGET', missing);
    return unique;
  }

  /** "Send test": a delivery like an alarm's, logged and retried the same way. */
  async test(actor: Actor, id: string): Promise<NotificationDelivery> {
    requireRole(actor, 'admin');
    const t = await this.get(actor, id);
    const payload = {
      event: 'test',
      orgId: actor.orgId,
      sentAt: new Date().toISOString(),
      message: `A test of the notification target "${t.name}" from Tether.`,
    };
    const [d] = await this.repo.insertDeliveries([{ orgId: actor.orgId, targetId: t.id, alarmId: null, historyId: null, event: 'test', payload }]);
    await this.enqueue([{ id: d!.id, targetId: t.id }]);
    return toDelivery((await this.repo.orgDelivery(actor.orgId, d!.id))!);
  }

  async deliveries(actor: Actor, q: { targetId?: string; alarmId?: string; status?: string; limit?: number; offset?: number }) {
    const limit = Math.min(Math.max(q.limit ?? 50, 1), 500);
    const offset = Math.max(q.offset ?? 0, 0);
    if (q.status && !['pending', 'delivered', 'failed', 'summarised'].includes(q.status))
      throw new AppError('VALIDATION_FAILED', 'status: pending, delivered, failed or summarised');
    const page = await this.repo.deliveries(actor.orgId, {
      targetId: q.targetId ? assertUuid(q.targetId, 'targetId') : undefined,
      alarmId: q.alarmId ? assertUuid(q.alarmId, 'alarmId') : undefined,
      status: q.status,
      limit,
      offset,
    });
    return { items: page.items.map(toDelivery), total: page.total, limit, offset };
  }

  /** Sends a delivery again (a failed one, after fixing the receiver), with a fresh set of retries. */
  async replay(actor: Actor, id: string): Promise<NotificationDelivery> {
    requireRole(actor, 'admin');
    const d = await this.repo.orgDelivery(actor.orgId, assertUuid(id, 'delivery id'));
    if (!d) throw notFound('DELIVERY', id);
    await this.repo.markPending(actor.orgId, d.id);
    if (d.target_id) await this.enqueue([{ id: d.id, targetId: d.target_id }]);
    return toDelivery((await this.repo.orgDelivery(actor.orgId, d.id))!);
  }

  /**
   * Alarm events from the alarms outbox: one delivery per target (none twice,
   * even if handed over again: only new ones are returned). Quiet hours hold
   * a delivery until they end; past a rule's storm limit in the current hour a
   * delivery is `summarised` (not sent) and one summary per target goes out
   * after the hour. Sent by `enqueue`, once committed.
   */
  async plan(notices: AlarmNotice[], tx: Queryable): Promise<Planned> {
    const now = new Date();
    const hour = hourStart(now);
    const told = new Map<string, number>();
    const rows: Parameters<NotificationsRepository['insertDeliveries']>[0] = [];
    const summaries = new Map<string, { ruleId: string; hourStart: Date }>();
    for (const n of notices) {
      const rule = n.rule;
      let status: 'pending' | 'summarised' = 'pending';
      if (rule?.stormLimit) {
        if (!told.has(rule.id)) told.set(rule.id, await this.repo.toldSince(rule.id, hour, tx));
        const count = told.get(rule.id)!;
        if (count >= rule.stormLimit) {
          status = 'summarised';
          summaries.set(rule.id, { ruleId: rule.id, hourStart: hour });
        } else told.set(rule.id, count + 1);
      }
      const deliverAfter = rule?.quietHours ? quietUntil(rule.quietHours, now) : null;
      for (const targetId of n.targets)
        rows.push({
          orgId: n.orgId,
          targetId,
          alarmId: n.alarm.id,
          historyId: n.historyId,
          event: n.event,
          payload: { event: n.event, orgId: n.orgId, sentAt: now.toISOString(), alarm: n.alarm },
          ruleId: rule?.id ?? null,
          status,
          deliverAfter,
        });
    }
    const inserted = await this.repo.insertDeliveries(rows, tx);
    return {
      deliveries: inserted
        .filter((d) => d.status === 'pending' && d.target_id)
        .map((d) => ({ id: d.id, targetId: d.target_id!, startAfter: d.deliver_after, row: d })),
      summaries: [...summaries.values()],
    };
  }

  /** Sends what `plan` planned: deliveries now (or when quiet hours end), summaries at the end of their hour. */
  async enqueue(planned: Planned | { id: string; targetId: string }[]): Promise<void> {
    const jobs = this.deps.jobs;
    if (!jobs) throw new Error('notifications need the job queue');
    const p: Planned = Array.isArray(planned) ? { deliveries: planned.map((d) => ({ ...d, startAfter: null })), summaries: [] } : planned;
    const queued: { id: string; startAfter: Date | null }[] = [];
    for (const d of p.deliveries) {
      if (!d.startAfter && this.direct?.offer(d.targetId, d.id)) {
        if (d.row) this.preloaded.set(d.id, d.row);
      } else queued.push(d);
    }
    await this.queue(queued, RETRIES);
    for (const s of p.summaries)
      await jobs.send(
        SUMMARY_QUEUE,
        { ruleId: s.ruleId, hourStart: s.hourStart.toISOString() },
        {
          startAfter: new Date(s.hourStart.getTime() + HOUR_MS),
          singletonKey: `storm:${s.ruleId}:${s.hourStart.toISOString()}`,
          retryLimit: RETRIES,
          retryDelay: RETRY_DELAY_S,
          retryBackoff: true,
        },
      );
  }

  /** Hands deliveries to the job queue and marks them queued, in one transaction. */
  private async queue(deliveries: { id: string; startAfter: Date | null }[], retries: number): Promise<void> {
    if (!deliveries.length) return;
    await this.deps.db.transaction(async (tx) => {
      await this.sendJobs(deliveries, retries, tx);
      await this.repo.markQueued(
        deliveries.map((d) => d.id),
        tx,
      );
    });
    this.deps.jobs!.wake(DELIVER_QUEUE);
  }

  private async sendJobs(deliveries: { id: string; startAfter: Date | null }[], retries: number, tx: Queryable): Promise<void> {
    for (const d of deliveries)
      await this.deps.jobs!.send(
        DELIVER_QUEUE,
        { deliveryId: d.id },
        { retryLimit: retries, retryDelay: RETRY_DELAY_S, retryBackoff: true, startAfter: d.startAfter ?? undefined, tx },
      );
  }

  /** A first attempt now, on this node (the dispatcher's); if it fails, its retries are jobs. Never rejects. */
  private async attemptNow(id: string): Promise<void> {
    const row = this.preloaded.get(id);
    this.preloaded.delete(id);
    try {
      await this.deliver(id, row);
    } catch {
      // Stopping: left as it is, and queued after the restart (stranded).
      if (this.stopping.signal.aborted) return;
      await this.queue([{ id, startAfter: new Date(Date.now() + RETRY_DELAY_S * 1000) }], RETRIES - 1).catch((err: unknown) =>
        this.deps.logger.warn({ err, deliveryId: id }, 'could not queue a failed delivery for its retries; a worker queues it later'),
      );
    }
  }

  /** Writes an attempt's result with the others of this turn: one statement, one commit, however many deliveries. */
  private record(id: string, ok: boolean, status: number | null, error: string | null): Promise<void> {
    return new Promise((resolve, reject) => {
      this.records.push({ id, ok, status, error, done: (err) => (err ? reject(err) : resolve()) });
      this.recording ??= this.writeRecords().finally(() => (this.recording = null));
    });
  }

  private async writeRecords(): Promise<void> {
    while (this.records.length) {
      const batch = this.records.splice(0);
      try {
        await this.repo.recordAttempts(batch);
        for (const r of batch) r.done();
      } catch (err) {
        for (const r of batch) r.done(err);
      }
    }
  }

  /** Deliveries whose node stopped before their first attempt: queued now. */
  async recoverStranded(now = new Date()): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.repo.takeStranded(new Date(now.getTime() - STRANDED_MS), 200, (rows, tx) =>
        this.sendJobs(
          rows.map((r) => ({ id: r.id, startAfter: r.deliverAfter })),
          RETRIES,
          tx,
        ),
      );
      total += n;
      if (n < 200) break;
    }
    if (total) {
      this.deps.logger.warn({ deliveries: total }, 'queued notification deliveries whose node stopped before their first attempt');
      this.deps.jobs!.wake(DELIVER_QUEUE);
    }
    return total;
  }

  /** After an hour a rule's storm limit held notifications back: one summary per target. */
  async summarise(ruleId: string, hourStartIso: string): Promise<void> {
    const from = new Date(hourStartIso);
    const to = new Date(from.getTime() + HOUR_MS);
    const held = await this.repo.summarised(ruleId, from, to);
    if (!held.length) return;
    const inserted = await this.repo.insertDeliveries(
      held.map((h) => ({
        orgId: h.orgId,
        targetId: h.targetId,
        alarmId: null,
        historyId: null,
        event: 'alarm.summary',
        ruleId,
        payload: {
          event: 'alarm.summary',
          orgId: h.orgId,
          sentAt: new Date().toISOString(),
          ruleId,
          from: from.toISOString(),
          to: to.toISOString(),
          heldBack: h.events,
          alarms: h.alarms,
          message: `${h.events} more alarm notifications (${h.alarms} alarms) of this rule were held back between ${from.toISOString()} and ${to.toISOString()} by its storm limit`,
        },
      })),
    );
    await this.enqueue(inserted.map((d) => ({ id: d.id, targetId: d.target_id! })));
  }

  /** On worker nodes: the delivery and summary jobs. */
  async startWorker(): Promise<void> {
    await this.deps.jobs!.work<{ deliveryId: string }>(DELIVER_QUEUE, (d) => this.deliver(d.deliveryId), { concurrency: CONCURRENCY });
    await this.deps.jobs!.work<{ ruleId: string; hourStart: string }>(SUMMARY_QUEUE, (d) => this.summarise(d.ruleId, d.hourStart));
    this.direct = new DirectDispatcher(DIRECT, (id) => this.attemptNow(id));
    this.recoverTimer = setInterval(
      () => void this.recoverStranded().catch((err: unknown) => this.deps.logger.warn({ err }, 'could not queue stranded deliveries')),
      RECOVER_MS,
    );
    this.recoverTimer.unref();
  }

  /** One attempt; throws on failure so that pg-boss tries again later. */
  deliver(deliveryId: string, row?: DeliveryRow & { target: TargetRow | null }): Promise<void> {
    const attempt = this.attempt(deliveryId, row);
    this.inFlight.add(attempt);
    const forget = () => void this.inFlight.delete(attempt);
    attempt.then(forget, forget);
    return attempt;
  }

  /** `row`: the delivery as just planned (a first attempt), else it is read. */
  private async attempt(deliveryId: string, row?: DeliveryRow & { target: TargetRow | null }): Promise<void> {
    if (this.stopping.signal.aborted) throw new Error('stopping: delivery left for after the restart');
    const d = row ?? (await this.repo.delivery(deliveryId));
    if (!d || d.status === 'delivered') return;
    const t = d.target;
    if (!t) {
      await this.record(d.id, false, null, 'the target was deleted');
      return;
    }
    const result = t.kind === 'webhook' ? await this.sendWebhook(d, t) : await this.sendEmail(d, t);
    // Stopping: the attempt is not recorded, and its job is taken up again after the restart.
    if (this.stopping.signal.aborted) return;
    await this.record(d.id, result.ok, result.status, result.error);
    if (!result.ok) throw new Error(`delivery ${d.id} to ${t.kind} "${t.name}" failed: ${result.error}`);
  }

  private async sendWebhook(d: DeliveryRow, t: TargetRow) {
    return postWebhook(
      t.config.url!,
      t.config.secret!,
      JSON.stringify(d.payload),
      { 'x-tether-event': d.event, 'x-tether-delivery': d.id },
      10_000,
      this.stopping.signal,
    );
  }

  private async sendEmail(d: DeliveryRow, t: TargetRow) {
    if (!this.mailer) return { ok: false, status: null, error: 'no SMTP server is set (TETHER_SMTP_URL)' };
    const alarm = d.payload.alarm as AlarmNotice['alarm'] | undefined;
    const subject = alarm
      ? `[${alarm.severity}] ${d.event === 'alarm.cleared' ? 'Cleared: ' : ''}${alarm.message}`
      : String(d.payload.message ?? 'Tether notification');
    const text = alarm
      ? [
          alarm.message,
          '',
          `Device: ${alarm.deviceName} (${alarm.deviceId})`,
          `Rule: ${alarm.ruleName}`,
          `Severity: ${alarm.severity}`,
          `State: ${alarm.state}`,
          `Value: ${JSON.stringify(alarm.value)}`,
          `Alarm: ${alarm.id}`,
        ].join('\n')
      : String(d.payload.message ?? '');
    // Members are mailed where they are now (and not at all once disabled or gone).
    const members =
      t.config.users?.length || t.config.roles?.length
        ? await this.deps.members.memberEmails(t.org_id, { users: t.config.users ?? [], roles: t.config.roles ?? [] })
        : [];
    const to = [...new Set([...(t.config.to ?? []), ...members])];
    if (!to.length) return { ok: false, status: null, error: 'no recipient: the members this target names are gone or disabled' };
    const r = await this.mailer.send({ to, subject, text });
    return { ok: r.ok, status: r.code, error: r.error };
  }

  private async checkConfig(actor: Actor, kind: 'webhook' | 'email', config: NotificationTargetInput['config']): Promise<object> {
    if (kind === 'webhook') {
      const raw = (config as { url?: string }).url;
      if (!raw) throw new AppError('TARGET_INVALID', 'a webhook needs config.url');
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        throw new AppError('TARGET_INVALID', `config.url is not a URL: ${raw}`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new AppError('TARGET_INVALID', 'config.url must be http:// or https://');
      if (url.username || url.password) throw new AppError('TARGET_INVALID', 'config.url must not carry credentials; the body is signed instead');
      const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
      // This machine on this server's port, by any of its addresses or names: it would post to itself.
      if (port === this.deps.selfPort() && (url.hostname.endsWith('.localhost') || (await isThisMachine(url.hostname))))
        throw new AppError('TARGET_INVALID', 'config.url points at this Tether server itself');
      return { url: url.toString() };
    }
    const c = config as { to?: string[]; users?: string[]; roles?: string[] };
    const to = c.to ?? [];
    const users = [...new Set(c.users ?? [])];
    const roles = [...new Set(c.roles ?? [])];
    if (!to.length && !users.length && !roles.length) throw new AppError('TARGET_INVALID', 'an email target needs config.to, config.users or config.roles');
    const bad = to.find((a) => !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(a) && !/^[^@\s]+@localhost$/.test(a));
    if (bad) throw new AppError('TARGET_INVALID', `not an e-mail address: ${bad}`);
    // A member of another org, or no one: USER_NOT_FOUND, as everywhere.
    for (const id of users) await this.deps.members.getUser(actor, assertUuid(id, 'user id'));
    if (!this.mailer) throw new AppError('SMTP_NOT_CONFIGURED', 'set TETHER_SMTP_URL (smtp://user:pass@host:port) so that Tether can send e-mail');
    return { to, users, roles };
  }

  /** Ends deliveries under way (not recorded; retried after a restart) and waits for them. Call before the job queue stops. */
  async close(): Promise<void> {
    this.stopping.abort();
    this.direct?.stop();
    if (this.recoverTimer) clearInterval(this.recoverTimer);
    await Promise.allSettled([...this.inFlight]);
    this.mailer?.close();
  }
}

function nameTaken(name: string) {
  return (err: unknown): never => {
    if ((err as { code?: string }).code === '23505') throw new AppError('NAME_TAKEN', `a notification target named "${name}" already exists`);
    throw err;
  };
}
