import type { Queryable } from '../../platform/db/database.js';
import type { AlarmRule, RuleKind } from './rule-logic.js';

/** SQL for alarm rules, alarms, their history and pending duration windows (migration 015). */

interface RuleRow {
  id: string;
  org_id: string;
  name: string;
  scope: AlarmRule['scope'];
  scope_id: string | null;
  enabled: boolean;
  kind: RuleKind;
  key: string | null;
  condition: AlarmRule['condition'];
  clear: AlarmRule['clear'];
  duration_s: number;
  severity: AlarmRule['severity'];
  message: string;
  notify: string[];
  escalate: AlarmRule['escalate'];
  quiet_hours: AlarmRule['quietHours'];
  storm_limit: number | null;
  created_at: Date;
  updated_at: Date;
}
export type StoredRule = AlarmRule & { createdAt: Date; updatedAt: Date };

const toRule = (r: RuleRow): StoredRule => ({
  id: r.id,
  orgId: r.org_id,
  name: r.name,
  scope: r.scope,
  scopeId: r.scope_id,
  enabled: r.enabled,
  kind: r.kind,
  key: r.key,
  condition: r.condition,
  clear: r.clear,
  durationS: r.duration_s,
  severity: r.severity,
  message: r.message,
  notify: r.notify,
  escalate: r.escalate,
  quietHours: r.quiet_hours,
  stormLimit: r.storm_limit,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export interface AlarmRow {
  id: string;
  org_id: string;
  device_id: string;
  device_name: string;
  project_id: string | null;
  rule_id: string | null;
  rule_name: string;
  severity: AlarmRule['severity'];
  message: string;
  value: unknown;
  count: number;
  raised_at: Date;
  last_seen_at: Date;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
  cleared_at: Date | null;
  cleared_by: string | null;
  assignee_id: string | null;
}

/** A raise, clear or escalation to notify about. */
export interface OutboxItem {
  historyId: string;
  event: 'raised' | 'cleared' | 'escalated';
  at: Date;
  /** Who to tell: the rule's targets, or for an escalation its escalation targets (empty: nobody). */
  notify: string[];
  rule: { id: string; quietHours: AlarmRule['quietHours']; stormLimit: number | null } | null;
  alarm: AlarmRow;
}

export interface HistoryRow {
  at: Date;
  action: 'raised' | 'acknowledged' | 'cleared' | 'assigned' | 'commented' | 'escalated';
  user_id: string | null;
  comment: string | null;
  details: unknown;
}

/** A rule and a device. */
export type Pair = { ruleId: string; deviceId: string };
/** A clear of a pair's open alarm, and why. */
export type Clear = Pair & { reason: string };
/** A duration window of a pair: since when its condition holds, and its latest value. */
export type Window = Pair & { since: Date; value: number; ts: Date };
/** An alarm raised or cleared. */
export type Changed = { id: string; orgId: string; ruleId: string; deviceId: string; projectId: string | null };

/** One raise or repeat of a rule on a device, as the evaluator decided it. */
export interface Occurrence {
  rule: AlarmRule;
  deviceId: string;
  projectId: string | null;
  message: string;
  value: unknown;
  /** How many times it happened in this batch. */
  count: number;
  at: Date;
}

export interface AlarmFilter {
  states?: string[];
  severities?: string[];
  deviceId?: string;
  projectId?: string;
  ruleId?: string;
  from?: Date;
  to?: Date;
  limit: number;
  offset: number;
}

const ALARM_COLUMNS = `a.id, a.org_id, a.device_id, d.name AS device_name, a.project_id, a.rule_id, a.rule_name, a.severity, a.message, a.value,
  a.count, a.raised_at, a.last_seen_at, a.acknowledged_at, a.acknowledged_by, a.cleared_at, a.cleared_by, a.assignee_id`;

/** SQL of each state (alarms a). */
const STATE_SQL: Record<string, string> = {
  open: 'a.cleared_at IS NULL',
  active: 'a.cleared_at IS NULL AND a.acknowledged_at IS NULL',
  acknowledged: 'a.cleared_at IS NULL AND a.acknowledged_at IS NOT NULL',
  cleared_unacknowledged: 'a.cleared_at IS NOT NULL AND a.acknowledged_at IS NULL',
  cleared: 'a.cleared_at IS NOT NULL AND a.acknowledged_at IS NOT NULL',
};
export const ALARM_STATES = Object.keys(STATE_SQL);

export class AlarmsRepository {
  constructor(private readonly db: Queryable & { transaction?<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> }) {}

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    if (!this.db.transaction) throw new Error('AlarmsRepository: a transaction needs the database, not a transaction');
    return this.db.transaction(fn);
  }

  // Rules

  async rulesOfOrg(orgId: string): Promise<StoredRule[]> {
    return (await this.db.query<RuleRow>('SELECT * FROM alarm_rules WHERE org_id = $1 ORDER BY name, scope, created_at', [orgId])).map(toRule);
  }

  async rule(orgId: string, id: string): Promise<StoredRule | null> {
    const [r] = await this.db.query<RuleRow>('SELECT * FROM alarm_rules WHERE org_id = $1 AND id = $2', [orgId, id]);
    return r ? toRule(r) : null;
  }

  /** Enabled rules of these kinds in every org (the sweeper's). */
  async rulesOfKinds(kinds: RuleKind[]): Promise<StoredRule[]> {
    return (await this.db.query<RuleRow>('SELECT * FROM alarm_rules WHERE kind = ANY($1::text[])', [kinds])).map(toRule);
  }

  async insertRule(r: Omit<AlarmRule, 'id'>): Promise<StoredRule> {
    const [row] = await this.db.query<RuleRow>(
      `INSERT INTO alarm_rules (org_id, name, scope, scope_id, enabled, kind, key, condition, clear, duration_s, severity, message, notify,
         escalate, quiet_hours, storm_limit)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::uuid[], $14, $15, $16) RETURNING *`,
      [
        r.orgId,
        r.name,
        r.scope,
        r.scopeId,
        r.enabled,
        r.kind,
        r.key,
        JSON.stringify(r.condition),
        r.clear ? JSON.stringify(r.clear) : null,
        r.durationS,
        r.severity,
        r.message,
        r.notify,
        r.escalate ? JSON.stringify(r.escalate) : null,
        r.quietHours ? JSON.stringify(r.quietHours) : null,
        r.stormLimit,
      ],
    );
    return toRule(row!);
  }

  async updateRule(r: AlarmRule): Promise<StoredRule | null> {
    const [row] = await this.db.query<RuleRow>(
      `UPDATE alarm_rules SET name = $3, enabled = $4, kind = $5, key = $6, condition = $7, clear = $8, duration_s = $9, severity = $10,
         message = $11, notify = $12::uuid[], escalate = $13, quiet_hours = $14, storm_limit = $15, updated_at = now()
       WHERE org_id = $1 AND id = $2 RETURNING *`,
      [
        r.orgId,
        r.id,
        r.name,
        r.enabled,
        r.kind,
        r.key,
        JSON.stringify(r.condition),
        r.clear ? JSON.stringify(r.clear) : null,
        r.durationS,
        r.severity,
        r.message,
        r.notify,
        r.escalate ? JSON.stringify(r.escalate) : null,
        r.quietHours ? JSON.stringify(r.quietHours) : null,
        r.stormLimit,
      ],
    );
    return row ? toRule(row) : null;
  }

  async deleteRule(orgId: string, id: string): Promise<boolean> {
    return (await this.db.query('DELETE FROM alarm_rules WHERE org_id = $1 AND id = $2 RETURNING id', [orgId, id])).length > 0;
  }

  // Raising and clearing (the evaluator's and the sweeper's)

  /**
   * A round of decisions in one statement, so atomic and one round trip:
   * each occurrence raised, or counted on the alarm already open for its rule
   * and device (the partial unique index decides, correct under concurrent
   * writers on any node); clears of open alarms; duration windows opened or
   * moved on (the latest value of each), and windows closed. A pair appears
   * at most once among raises and clears, and once among windows. Raises and
   * clears write their history entry (the notification outbox) in the same
   * statement. Returns the alarms raised now (not the repeats) and cleared.
   */
  async decide(
    d: { raises?: readonly Occurrence[]; clears?: readonly Clear[]; windows?: readonly Window[]; closed?: readonly Pair[] },
    tx: Queryable = this.db,
  ): Promise<{ raised: Changed[]; cleared: Changed[] }> {
    const params: unknown[] = [];
    const $ = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    const ctes: string[] = [];
    const outs: string[] = [];
    const { raises = [], clears = [], windows = [], closed = [] } = d;
    if (raises.length) {
      const col = <T>(f: (o: Occurrence) => T) => $(raises.map(f));
      ctes.push(
        `up AS (
         INSERT INTO alarms AS a (org_id, device_id, project_id, rule_id, rule_name, severity, message, value, count, raised_at, last_seen_at)
         SELECT u.org, u.device, u.project, u.rule, u.name, u.severity, u.message, u.value, u.n, u.at, u.at
         FROM unnest(${col((o) => o.rule.orgId)}::uuid[], ${col((o) => o.deviceId)}::uuid[], ${col((o) => o.projectId)}::uuid[],
           ${col((o) => o.rule.id)}::uuid[], ${col((o) => o.rule.name)}::text[], ${col((o) => o.rule.severity)}::text[], ${col((o) => o.message)}::text[],
           ${col((o) => JSON.stringify(o.value ?? null))}::jsonb[], ${col((o) => o.count)}::int[], ${col((o) => o.at)}::timestamptz[])
           AS u(org, device, project, rule, name, severity, message, value, n, at)
         JOIN devices d ON d.id = u.device
         ON CONFLICT (rule_id, device_id) WHERE cleared_at IS NULL
         DO UPDATE SET count = a.count + EXCLUDED.count, last_seen_at = greatest(a.last_seen_at, EXCLUDED.last_seen_at), value = EXCLUDED.value,
           updated_at = now()
         RETURNING a.id, a.org_id, a.rule_id, a.device_id, a.project_id, (xmax = 0) AS inserted)`,
        `raised_told AS (INSERT INTO alarm_history (alarm_id, action) SELECT id, 'raised' FROM up WHERE inserted)`,
      );
      outs.push(`SELECT 'raised' AS what, id, org_id, rule_id, device_id, project_id FROM up WHERE inserted`);
    }
    if (clears.length) {
      ctes.push(
        `cleared AS (
         UPDATE alarms a SET cleared_at = now(), updated_at = now()
         FROM unnest(${$(clears.map((c) => c.ruleId))}::uuid[], ${$(clears.map((c) => c.deviceId))}::uuid[], ${$(clears.map((c) => c.reason))}::text[])
           AS u(rule, device, reason)
         WHERE a.rule_id = u.rule AND a.device_id = u.device AND a.cleared_at IS NULL
         RETURNING a.id, a.org_id, a.rule_id, a.device_id, a.project_id, u.reason)`,
        `cleared_told AS (INSERT INTO alarm_history (alarm_id, action, details) SELECT id, 'cleared', jsonb_build_object('reason', reason) FROM cleared)`,
      );
      outs.push(`SELECT 'cleared' AS what, id, org_id, rule_id, device_id, project_id FROM cleared`);
    }
    if (windows.length) {
      const col = <T>(f: (w: Window) => T) => $(windows.map(f));
      ctes.push(`windows AS (
         INSERT INTO alarm_pending AS p (rule_id, device_id, since, last_value, last_ts)
         SELECT u.rule, u.device, u.since, u.v, u.ts
         FROM unnest(${col((w) => w.ruleId)}::uuid[], ${col((w) => w.deviceId)}::uuid[], ${col((w) => w.since)}::timestamptz[], ${col((w) => w.value)}::float8[],
           ${col((w) => w.ts)}::timestamptz[]) AS u(rule, device, since, v, ts)
         JOIN devices d ON d.id = u.device JOIN alarm_rules r ON r.id = u.rule
         ON CONFLICT (rule_id, device_id) DO UPDATE SET last_value = EXCLUDED.last_value, last_ts = EXCLUDED.last_ts)`);
    }
    if (closed.length)
      ctes.push(`closed AS (
         DELETE FROM alarm_pending p USING unnest(${$(closed.map((c) => c.ruleId))}::uuid[], ${$(closed.map((c) => c.deviceId))}::uuid[]) AS u(rule, device)
         WHERE p.rule_id = u.rule AND p.device_id = u.device)`);
    if (!ctes.length) return { raised: [], cleared: [] };
    // A data-modifying CTE runs whether or not it is read.
    const select = outs.length
      ? outs.join(' UNION ALL ')
      : 'SELECT NULL::text AS what, NULL::uuid AS id, NULL::uuid AS org_id, NULL::uuid AS rule_id, NULL::uuid AS device_id, NULL::uuid AS project_id WHERE false';
    const rows = await tx.query<{ what: 'raised' | 'cleared'; id: string; org_id: string; rule_id: string; device_id: string; project_id: string | null }>(
      `WITH ${ctes.join(',\n')}\n${select}`,
      params,
    );
    const of = (what: string) =>
      rows.filter((r) => r.what === what).map((r) => ({ id: r.id, orgId: r.org_id, ruleId: r.rule_id, deviceId: r.device_id, projectId: r.project_id }));
    return { raised: of('raised'), cleared: of('cleared') };
  }

  /** Raises (or counts) each occurrence: `decide` with raises only. */
  async raise(occ: readonly Occurrence[], tx: Queryable = this.db): Promise<Changed[]> {
    return (await this.decide({ raises: occ }, tx)).raised;
  }

  /** Clears the open alarm of each pair, by Tether: `decide` with clears only. */
  async clearOpen(pairs: readonly Clear[], tx: Queryable = this.db): Promise<Changed[]> {
    return (await this.decide({ clears: pairs }, tx)).cleared;
  }

  /** Which of these (rule, device) pairs have an open alarm. */
  async openPairs(pairs: readonly { ruleId: string; deviceId: string }[]): Promise<Set<string>> {
    if (!pairs.length) return new Set();
    const rows = await this.db.query<{ rule_id: string; device_id: string }>(
      `SELECT a.rule_id, a.device_id FROM alarms a JOIN unnest($1::uuid[], $2::uuid[]) AS u(rule, device)
         ON a.rule_id = u.rule AND a.device_id = u.device WHERE a.cleared_at IS NULL`,
      [pairs.map((p) => p.ruleId), pairs.map((p) => p.deviceId)],
    );
    return new Set(rows.map((r) => `${r.rule_id}/${r.device_id}`));
  }

  /** The open alarms of these rules, as (rule, device) pairs. */
  async openOfRules(ruleIds: readonly string[]): Promise<{ ruleId: string; deviceId: string }[]> {
    if (!ruleIds.length) return [];
    const rows = await this.db.query<{ rule_id: string; device_id: string }>(
      'SELECT rule_id, device_id FROM alarms WHERE rule_id = ANY($1::uuid[]) AND cleared_at IS NULL',
      [ruleIds],
    );
    return rows.map((r) => ({ ruleId: r.rule_id, deviceId: r.device_id }));
  }

  /** Open alarms of these rules not repeated since `before` (a device alert's clear.afterS). */
  async openNotSeenSince(ruleId: string, before: Date): Promise<{ ruleId: string; deviceId: string }[]> {
    const rows = await this.db.query<{ rule_id: string; device_id: string }>(
      'SELECT rule_id, device_id FROM alarms WHERE rule_id = $1 AND cleared_at IS NULL AND last_seen_at < $2',
      [ruleId, before],
    );
    return rows.map((r) => ({ ruleId: r.rule_id, deviceId: r.device_id }));
  }

  /** Open alarms unacknowledged past their rule's escalation time: marked escalated (once), with an outbox entry. */
  async escalateDue(now: Date): Promise<Changed[]> {
    const rows = await this.db.query<{ id: string; org_id: string; rule_id: string; device_id: string; project_id: string | null }>(
      `WITH due AS (
         SELECT a.id FROM alarms a JOIN alarm_rules r ON r.id = a.rule_id
         WHERE a.cleared_at IS NULL AND a.acknowledged_at IS NULL AND a.escalated_at IS NULL AND r.escalate IS NOT NULL
           AND a.raised_at + (r.escalate ->> 'afterS')::int * interval '1 second' <= $1
         FOR UPDATE OF a SKIP LOCKED),
       marked AS (UPDATE alarms SET escalated_at = now(), updated_at = now() FROM due WHERE alarms.id = due.id
         RETURNING alarms.id, alarms.org_id, alarms.rule_id, alarms.device_id, alarms.project_id),
       told AS (INSERT INTO alarm_history (alarm_id, action) SELECT id, 'escalated' FROM marked)
       SELECT * FROM marked`,
      [now],
    );
    return rows.map((r) => ({ id: r.id, orgId: r.org_id, ruleId: r.rule_id, deviceId: r.device_id, projectId: r.project_id }));
  }

  // Duration windows

  async pending(pairs: readonly { ruleId: string; deviceId: string }[]): Promise<Map<string, number>> {
    if (!pairs.length) return new Map();
    const rows = await this.db.query<{ rule_id: string; device_id: string; since: Date }>(
      `SELECT p.rule_id, p.device_id, p.since FROM alarm_pending p JOIN unnest($1::uuid[], $2::uuid[]) AS u(rule, device)
         ON p.rule_id = u.rule AND p.device_id = u.device`,
      [pairs.map((p) => p.ruleId), pairs.map((p) => p.deviceId)],
    );
    return new Map(rows.map((r) => [`${r.rule_id}/${r.device_id}`, r.since.getTime()]));
  }

  /** Windows that have lasted their rule's duration: raise now, even if the device went quiet. */
  async duePending(now: Date): Promise<{ ruleId: string; deviceId: string; projectId: string | null; value: number; deviceName: string }[]> {
    const rows = await this.db.query<{ rule_id: string; device_id: string; project_id: string | null; last_value: number; name: string }>(
      `SELECT p.rule_id, p.device_id, d.project_id, p.last_value, d.name FROM alarm_pending p
       JOIN alarm_rules r ON r.id = p.rule_id JOIN devices d ON d.id = p.device_id
       WHERE r.enabled AND p.since + r.duration_s * interval '1 second' <= $1`,
      [now],
    );
    return rows.map((r) => ({ ruleId: r.rule_id, deviceId: r.device_id, projectId: r.project_id, value: r.last_value, deviceName: r.name }));
  }

  // Reading and acting on alarms (the API's)

  async list(orgId: string, f: AlarmFilter): Promise<{ items: AlarmRow[]; total: number }> {
    const where = ['a.org_id = $1'];
    const params: unknown[] = [orgId];
    const add = (sql: (n: string) => string, v: unknown) => {
      params.push(v);
      where.push(sql(`$${params.length}`));
    };
    if (f.states?.length) where.push(`(${f.states.map((s) => STATE_SQL[s]).join(' OR ')})`);
    if (f.severities?.length) add((n) => `a.severity = ANY(${n}::text[])`, f.severities);
    if (f.deviceId) add((n) => `a.device_id = ${n}`, f.deviceId);
    if (f.projectId) add((n) => `a.project_id = ${n}`, f.projectId);
    if (f.ruleId) add((n) => `a.rule_id = ${n}`, f.ruleId);
    if (f.from) add((n) => `a.raised_at >= ${n}`, f.from);
    if (f.to) add((n) => `a.raised_at < ${n}`, f.to);
    const sqlWhere = where.join(' AND ');
    const [count] = await this.db.query<{ n: string }>(`SELECT count(*) AS n FROM alarms a WHERE ${sqlWhere}`, params);
    const items = await this.db.query<AlarmRow>(
      `SELECT ${ALARM_COLUMNS} FROM alarms a JOIN devices d ON d.id = a.device_id WHERE ${sqlWhere}
       ORDER BY a.raised_at DESC, a.id LIMIT ${f.limit} OFFSET ${f.offset}`,
      params,
    );
    return { items, total: Number(count!.n) };
  }

  async get(orgId: string, id: string): Promise<AlarmRow | null> {
    const [r] = await this.db.query<AlarmRow>(`SELECT ${ALARM_COLUMNS} FROM alarms a JOIN devices d ON d.id = a.device_id WHERE a.org_id = $1 AND a.id = $2`, [
      orgId,
      id,
    ]);
    return r ?? null;
  }

  async history(alarmId: string): Promise<HistoryRow[]> {
    return this.db.query<HistoryRow>('SELECT at, action, user_id, comment, details FROM alarm_history WHERE alarm_id = $1 ORDER BY id', [alarmId]);
  }

  /**
   * Acknowledge, clear or assign by a user, if it applies (not already done);
   * history written with the change. Returns false when nothing changed.
   */
  async act(
    orgId: string,
    id: string,
    action: 'acknowledged' | 'cleared' | 'assigned' | 'commented',
    userId: string | null,
    comment: string | null,
    assigneeId?: string | null,
  ): Promise<boolean> {
    const set: Record<typeof action, string> = {
      acknowledged: 'acknowledged_at = now(), acknowledged_by = $3::uuid WHERE acknowledged_at IS NULL AND',
      cleared: 'cleared_at = now(), cleared_by = $3::uuid WHERE cleared_at IS NULL AND',
      assigned: "assignee_id = ($6::jsonb ->> 'assigneeId')::uuid WHERE",
      commented: 'updated_at = now() WHERE',
    };
    const head: Record<typeof action, string> = {
      acknowledged: 'updated_at = now(), ',
      cleared: 'updated_at = now(), ',
      assigned: 'updated_at = now(), ',
      commented: '',
    };
    const rows = await this.db.query<{ id: string }>(
      `WITH changed AS (UPDATE alarms SET ${head[action]}${set[action]} org_id = $1 AND id = $2 RETURNING id)
       INSERT INTO alarm_history (alarm_id, action, user_id, comment, details)
       SELECT id, $4, $3::uuid, $5, $6::jsonb FROM changed RETURNING alarm_id AS id`,
      [orgId, id, userId, action, comment, action === 'assigned' ? JSON.stringify({ assigneeId: assigneeId ?? null }) : null],
    );
    return rows.length > 0;
  }

  /**
   * The outbox of notifications: raises, clears and escalations in the history
   * not yet handed on, oldest first. Not locked: whoever hands an entry on
   * twice (two worker nodes, or a retry after a crash) plans nothing twice,
   * since a delivery is unique per entry and target.
   */
  async unnotified(limit: number): Promise<OutboxItem[]> {
    const rows = await this.db.query<
      AlarmRow & {
        history_id: string;
        action: 'raised' | 'cleared' | 'escalated';
        at: Date;
        notify: string[] | null;
        escalate: AlarmRule['escalate'];
        quiet_hours: AlarmRule['quietHours'];
        storm_limit: number | null;
      }
    >(
      `SELECT h.id AS history_id, h.action, h.at, r.notify, r.escalate, r.quiet_hours, r.storm_limit, ${ALARM_COLUMNS}
       FROM alarm_history h JOIN alarms a ON a.id = h.alarm_id JOIN devices d ON d.id = a.device_id LEFT JOIN alarm_rules r ON r.id = a.rule_id
       WHERE h.notified_at IS NULL AND h.action IN ('raised', 'cleared', 'escalated')
       ORDER BY h.id LIMIT ${limit}`,
    );
    return rows.map((r) => ({
      historyId: r.history_id,
      event: r.action,
      at: r.at,
      notify: (r.action === 'escalated' ? r.escalate?.notify : r.notify) ?? [],
      rule: r.rule_id ? { id: r.rule_id, quietHours: r.quiet_hours, stormLimit: r.storm_limit } : null,
      alarm: r,
    }));
  }

  /** Handed on: out of the outbox. */
  async markNotified(historyIds: readonly string[]): Promise<void> {
    if (historyIds.length) await this.db.query('UPDATE alarm_history SET notified_at = now() WHERE id = ANY($1::bigint[])', [historyIds]);
  }

  async counts(orgId: string): Promise<{ open: Record<string, number>; unacknowledged: number }> {
    const rows = await this.db.query<{ severity: string; open: string; unacked: string }>(
      `SELECT severity, count(*) FILTER (WHERE cleared_at IS NULL) AS open, count(*) FILTER (WHERE acknowledged_at IS NULL) AS unacked
       FROM alarms WHERE org_id = $1 AND (cleared_at IS NULL OR acknowledged_at IS NULL) GROUP BY severity`,
      [orgId],
    );
    const open: Record<string, number> = {};
    let unacknowledged = 0;
    for (const r of rows) {
      if (Number(r.open)) open[r.severity] = Number(r.open);
      unacknowledged += Number(r.unacked);
    }
    return { open, unacknowledged };
  }
}
