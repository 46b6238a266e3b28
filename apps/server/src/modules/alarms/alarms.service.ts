import type { Database } from '../../platform/db/database.js';
import { requireRole, type Actor } from '../accounts/actor.js';
import { AppError, assertUuid, notFound } from '../errors.js';
import type { DomainBus } from '../events/domain-events.js';
import { ALARM_STATES, AlarmsRepository, type AlarmRow } from './alarms.repository.js';
import type { Alarm, AlarmDetail, AlarmPage, AlarmQuery } from './alarms.schemas.js';
import { ALARM_SEVERITIES } from './rule-logic.js';

const iso = (d: Date | null) => d?.toISOString() ?? null;

export const toAlarm = (r: AlarmRow): Alarm => ({
  id: r.id,
  deviceId: r.device_id,
  deviceName: r.device_name,
  projectId: r.project_id,
  ruleId: r.rule_id,
  ruleName: r.rule_name,
  severity: r.severity,
  state: r.cleared_at ? (r.acknowledged_at ? 'cleared' : 'cleared_unacknowledged') : r.acknowledged_at ? 'acknowledged' : 'active',
  message: r.message,
  value: r.value,
  count: r.count,
  raisedAt: r.raised_at.toISOString(),
  lastSeenAt: r.last_seen_at.toISOString(),
  acknowledgedAt: iso(r.acknowledged_at),
  acknowledgedBy: r.acknowledged_by,
  clearedAt: iso(r.cleared_at),
  clearedBy: r.cleared_by,
  assigneeId: r.assignee_id,
});

function list(raw: string | undefined, allowed: readonly string[], what: string): string[] | undefined {
  if (!raw) return undefined;
  const parts = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = parts.filter((p) => !allowed.includes(p));
  if (bad.length) throw new AppError('VALIDATION_FAILED', `${what}: unknown ${bad.join(', ')}; expected ${allowed.join(', ')}`);
  return parts;
}

function date(raw: string | undefined, what: string): Date | undefined {
  if (!raw) return undefined;
  const d = new Date(raw);
  if (Number.isNaN(d.getTime())) throw new AppError('VALIDATION_FAILED', `${what}: not a date (ISO 8601)`);
  return d;
}

/** Alarms as people see and handle them: list, read, acknowledge, clear, assign, comment. */
export class AlarmsService {
  private readonly repo: AlarmsRepository;

  constructor(
    db: Database,
    private readonly bus: DomainBus,
    /** An assignee must be a member of the org (USER_NOT_FOUND otherwise). */
    private readonly users: { getUser(actor: Actor, id: string): Promise<unknown> },
  ) {
    this.repo = new AlarmsRepository(db);
  }

  async list(actor: Actor, q: AlarmQuery): Promise<AlarmPage> {
    const limit = Math.min(Math.max(q.limit ?? 50, 1), 500);
    const offset = Math.max(q.offset ?? 0, 0);
    const page = await this.repo.list(actor.orgId, {
      states: list(q.state, ALARM_STATES, 'state'),
      severities: list(q.severity, ALARM_SEVERITIES, 'severity'),
      deviceId: q.deviceId ? assertUuid(q.deviceId, 'deviceId') : undefined,
      projectId: q.projectId ? assertUuid(q.projectId, 'projectId') : undefined,
      ruleId: q.ruleId ? assertUuid(q.ruleId, 'ruleId') : undefined,
      from: date(q.from, 'from'),
      to: date(q.to, 'to'),
      limit,
      offset,
    });
    return { items: page.items.map(toAlarm), total: page.total, limit, offset };
  }

  async get(actor: Actor, id: string): Promise<AlarmDetail> {
    const row = await this.repo.get(actor.orgId, assertUuid(id, 'alarm id'));
    if (!row) throw notFound('ALARM', id);
    const history = (await this.repo.history(row.id)).map((h) => ({
      at: h.at.toISOString(),
      action: h.action,
      userId: h.user_id,
      comment: h.comment,
      details: h.details,
    }));
    return { ...toAlarm(row), history };
  }

  counts(actor: Actor) {
    return this.repo.counts(actor.orgId);
  }

  /** Acknowledge: an operator has seen it. Again on an acknowledged alarm changes nothing (200, as it is). */
  acknowledge(actor: Actor, id: string, comment: string | null): Promise<AlarmDetail> {
    return this.act(actor, id, 'acknowledged', comment);
  }

  /** Clear by hand: the alarm closes; the next occurrence opens a new one. */
  clear(actor: Actor, id: string, comment: string | null): Promise<AlarmDetail> {
    return this.act(actor, id, 'cleared', comment);
  }

  async assign(actor: Actor, id: string, assigneeId: string | null, comment: string | null): Promise<AlarmDetail> {
    if (assigneeId) await this.users.getUser(actor, assertUuid(assigneeId, 'assigneeId'));
    return this.act(actor, id, 'assigned', comment, assigneeId);
  }

  async comment(actor: Actor, id: string, comment: string): Promise<AlarmDetail> {
    if (!comment.trim()) throw new AppError('VALIDATION_FAILED', 'comment is empty');
    return this.act(actor, id, 'commented', comment.trim());
  }

  private async act(
    actor: Actor,
    id: string,
    action: 'acknowledged' | 'cleared' | 'assigned' | 'commented',
    comment: string | null,
    assigneeId?: string | null,
  ): Promise<AlarmDetail> {
    requireRole(actor, 'operator');
    const alarm = await this.get(actor, id);
    await this.repo.act(actor.orgId, alarm.id, action, actor.userId, comment?.trim() || null, assigneeId);
    const after = await this.get(actor, id);
    this.bus.emit('alarm.changed', {
      orgId: actor.orgId,
      alarmId: after.id,
      ruleId: after.ruleId,
      deviceId: after.deviceId,
      projectId: after.projectId,
      open: after.clearedAt === null,
    });
    return after;
  }
}
