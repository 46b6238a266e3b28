import type { Database, Queryable } from '../../platform/db/database.js';

/** SQL for notification targets and deliveries (migration 016). */

export interface TargetRow {
  id: string;
  org_id: string;
  name: string;
  kind: 'webhook' | 'email';
  config: { url?: string; secret?: string; to?: string[]; users?: string[]; roles?: string[] };
  created_at: Date;
  updated_at: Date;
}

export interface DeliveryRow {
  id: string;
  org_id: string;
  target_id: string | null;
  alarm_id: string | null;
  event: string;
  payload: Record<string, unknown>;
  status: 'pending' | 'delivered' | 'failed' | 'summarised';
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  created_at: Date;
  delivered_at: Date | null;
  deliver_after: Date | null;
  queued_at: Date | null;
}

/** A delivery's target as JSON, joined as `t`; null once deleted. */
const TARGET_JSON = 'CASE WHEN t.id IS NULL THEN NULL ELSE to_jsonb(t) END';
type TargetJson = Omit<TargetRow, 'created_at' | 'updated_at'> & { created_at: string; updated_at: string };
const withTarget = (d: DeliveryRow & { target: TargetJson | null }): DeliveryRow & { target: TargetRow | null } => ({
  ...d,
  target: d.target ? { ...d.target, created_at: new Date(d.target.created_at), updated_at: new Date(d.target.updated_at) } : null,
});

export class NotificationsRepository {
  constructor(private readonly db: Database) {}

  targets(orgId: string): Promise<TargetRow[]> {
    return this.db.query<TargetRow>('SELECT * FROM notification_targets WHERE org_id = $1 ORDER BY name', [orgId]);
  }

  async target(orgId: string, id: string): Promise<TargetRow | null> {
    const [r] = await this.db.query<TargetRow>('SELECT * FROM notification_targets WHERE org_id = $1 AND id = $2', [orgId, id]);
    return r ?? null;
  }

  async targetIds(orgId: string, ids: string[]): Promise<string[]> {
    return (await this.db.query<{ id: string }>('SELECT id FROM notification_targets WHERE org_id = $1 AND id = ANY($2::uuid[])', [orgId, ids])).map(
      (r) => r.id,
    );
  }

  async insertTarget(t: { orgId: string; name: string; kind: string; config: object }): Promise<TargetRow> {
    const [r] = await this.db.query<TargetRow>('INSERT INTO notification_targets (org_id, name, kind, config) VALUES ($1, $2, $3, $4) RETURNING *', [
      t.orgId,
      t.name,
      t.kind,
      JSON.stringify(t.config),
    ]);
    return r!;
  }

  async updateTarget(orgId: string, id: string, t: { name: string; config: object }): Promise<TargetRow | null> {
    const [r] = await this.db.query<TargetRow>(
      'UPDATE notification_targets SET name = $3, config = $4, updated_at = now() WHERE org_id = $1 AND id = $2 RETURNING *',
      [orgId, id, t.name, JSON.stringify(t.config)],
    );
    return r ?? null;
  }

  async deleteTarget(orgId: string, id: string): Promise<boolean> {
    return (await this.db.query('DELETE FROM notification_targets WHERE org_id = $1 AND id = $2 RETURNING id', [orgId, id])).length > 0;
  }

  /** One delivery per history entry and target (a repeated hand-over adds none). Returns the new ones. */
  async insertDeliveries(
    rows: {
      orgId: string;
      targetId: string;
      alarmId: string | null;
      historyId: string | null;
      event: string;
      payload: object;
      ruleId?: string | null;
      status?: 'pending' | 'summarised';
      deliverAfter?: Date | null;
    }[],
    tx: Queryable = this.db,
  ): Promise<(DeliveryRow & { target: TargetRow | null })[]> {
    if (!rows.length) return [];
    // Returned with their targets: a first attempt made at once needs no read.
    const r = await tx.query<DeliveryRow & { target: TargetJson | null }>(
      `WITH ins AS (
         INSERT INTO notification_deliveries (org_id, target_id, alarm_id, history_id, event, payload, rule_id, status, deliver_after)
         SELECT u.org, u.target, u.alarm, u.history, u.event, u.payload, u.rule, u.status, u.after
         FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::bigint[], $5::text[], $6::jsonb[], $7::uuid[], $8::text[], $9::timestamptz[])
           AS u(org, target, alarm, history, event, payload, rule, status, after)
         ON CONFLICT (history_id, target_id) DO NOTHING RETURNING *)
       SELECT ins.*, ${TARGET_JSON} AS target FROM ins LEFT JOIN notification_targets t ON t.id = ins.target_id`,
      [
        rows.map((x) => x.orgId),
        rows.map((x) => x.targetId),
        rows.map((x) => x.alarmId),
        rows.map((x) => x.historyId),
        rows.map((x) => x.event),
        rows.map((x) => JSON.stringify(x.payload)),
        rows.map((x) => x.ruleId ?? null),
        rows.map((x) => x.status ?? 'pending'),
        rows.map((x) => x.deliverAfter ?? null),
      ],
    );
    return r.map(withTarget);
  }

  /** Alarm events of a rule told (not summarised) since `since`: the storm limit's count. */
  async toldSince(ruleId: string, since: Date, tx: Queryable): Promise<number> {
    const [r] = await tx.query<{ n: string }>(
      `SELECT count(DISTINCT history_id) AS n FROM notification_deliveries
       WHERE rule_id = $1 AND created_at >= $2 AND status <> 'summarised' AND history_id IS NOT NULL`,
      [ruleId, since],
    );
    return Number(r!.n);
  }

  /** Per target, the alarm events of a rule held back by its storm limit in [from, to). */
  async summarised(ruleId: string, from: Date, to: Date): Promise<{ orgId: string; targetId: string; events: number; alarms: number }[]> {
    const rows = await this.db.query<{ org_id: string; target_id: string; events: string; alarms: string }>(
      `SELECT org_id, target_id, count(*) AS events, count(DISTINCT alarm_id) AS alarms FROM notification_deliveries
       WHERE rule_id = $1 AND status = 'summarised' AND created_at >= $2 AND created_at < $3 AND target_id IS NOT NULL
       GROUP BY org_id, target_id`,
      [ruleId, from, to],
    );
    return rows.map((r) => ({ orgId: r.org_id, targetId: r.target_id, events: Number(r.events), alarms: Number(r.alarms) }));
  }

  /** A delivery and its target (null once deleted), in one query. */
  async delivery(id: string): Promise<(DeliveryRow & { target: TargetRow | null }) | null> {
    const [d] = await this.db.query<DeliveryRow & { target: TargetJson | null }>(
      `SELECT d.*, ${TARGET_JSON} AS target FROM notification_deliveries d LEFT JOIN notification_targets t ON t.id = d.target_id WHERE d.id = $1`,
      [id],
    );
    return d ? withTarget(d) : null;
  }

  async orgDelivery(orgId: string, id: string): Promise<DeliveryRow | null> {
    const [d] = await this.db.query<DeliveryRow>('SELECT * FROM notification_deliveries WHERE org_id = $1 AND id = $2', [orgId, id]);
    return d ?? null;
  }

  /** Attempts' results, one per delivery, in one statement. */
  async recordAttempts(rows: readonly { id: string; ok: boolean; status: number | null; error: string | null }[]): Promise<void> {
    if (!rows.length) return;
    await this.db.query(
      `UPDATE notification_deliveries d SET attempts = d.attempts + 1, status = u.status, last_status_code = u.code, last_error = u.error,
         delivered_at = CASE WHEN u.status = 'delivered' THEN now() ELSE d.delivered_at END, updated_at = now()
       FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[]) AS u(id, status, code, error) WHERE d.id = u.id`,
      [rows.map((r) => r.id), rows.map((r) => (r.ok ? 'delivered' : 'failed')), rows.map((r) => r.status), rows.map((r) => r.error)],
    );
  }

  /** Handed to the job queue: not taken up as stranded. */
  async markQueued(ids: readonly string[], tx: Queryable = this.db): Promise<void> {
    if (ids.length) await tx.query('UPDATE notification_deliveries SET queued_at = now() WHERE id = ANY($1::uuid[])', [ids]);
  }

  /**
   * Deliveries planned (or replayed, or last tried) before `before` that neither went out nor reached the
   * job queue (their node stopped before the first attempt), locked so that
   * one worker node takes each; `hand` queues them in the same transaction, then they are marked.
   */
  async takeStranded(before: Date, limit: number, hand: (rows: { id: string; deliverAfter: Date | null }[], tx: Queryable) => Promise<void>): Promise<number> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query<{ id: string; deliver_after: Date | null }>(
        `SELECT id, deliver_after FROM notification_deliveries WHERE queued_at IS NULL AND status IN ('pending', 'failed') AND updated_at < $1
         ORDER BY created_at LIMIT ${limit} FOR UPDATE SKIP LOCKED`,
        [before],
      );
      if (!rows.length) return 0;
      await hand(
        rows.map((r) => ({ id: r.id, deliverAfter: r.deliver_after })),
        tx,
      );
      await tx.query('UPDATE notification_deliveries SET queued_at = now() WHERE id = ANY($1::uuid[])', [rows.map((r) => r.id)]);
      return rows.length;
    });
  }

  async markPending(orgId: string, id: string): Promise<void> {
    // Planned anew: sent at once again (a job of its own only if that fails), so not queued yet.
    await this.db.query("UPDATE notification_deliveries SET status = 'pending', queued_at = NULL, updated_at = now() WHERE org_id = $1 AND id = $2", [
      orgId,
      id,
    ]);
  }

  async deliveries(orgId: string, f: { targetId?: string; alarmId?: string; status?: string; limit: number; offset: number }) {
    const where = ['org_id = $1'];
    const params: unknown[] = [orgId];
    for (const [col, v] of [
      ['target_id', f.targetId],
      ['alarm_id', f.alarmId],
      ['status', f.status],
    ] as const) {
      if (!v) continue;
      params.push(v);
      where.push(`${col} = $${params.length}`);
    }
    const sql = where.join(' AND ');
    const [n] = await this.db.query<{ n: string }>(`SELECT count(*) AS n FROM notification_deliveries WHERE ${sql}`, params);
    const items = await this.db.query<DeliveryRow>(
      `SELECT * FROM notification_deliveries WHERE ${sql} ORDER BY created_at DESC, id LIMIT ${f.limit} OFFSET ${f.offset}`,
      params,
    );
    return { items, total: Number(n!.n) };
  }
}
