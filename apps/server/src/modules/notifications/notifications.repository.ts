import type { Queryable } from '../../platform/db/database.js';

/** SQL for notification targets and deliveries (migration 016). */

export interface TargetRow {
  id: string;
  org_id: string;
  name: string;
  kind: 'webhook' | 'email';
  config: { url?: string; secret?: string; to?: string[] };
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
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  created_at: Date;
  delivered_at: Date | null;
}

export class NotificationsRepository {
  constructor(private readonly db: Queryable) {}

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
    rows: { orgId: string; targetId: string; alarmId: string | null; historyId: string | null; event: string; payload: object }[],
    tx: Queryable = this.db,
  ): Promise<string[]> {
    if (!rows.length) return [];
    const r = await tx.query<{ id: string }>(
      `INSERT INTO notification_deliveries (org_id, target_id, alarm_id, history_id, event, payload)
       SELECT u.org, u.target, u.alarm, u.history, u.event, u.payload
       FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::bigint[], $5::text[], $6::jsonb[]) AS u(org, target, alarm, history, event, payload)
       ON CONFLICT (history_id, target_id) DO NOTHING RETURNING id`,
      [
        rows.map((x) => x.orgId),
        rows.map((x) => x.targetId),
        rows.map((x) => x.alarmId),
        rows.map((x) => x.historyId),
        rows.map((x) => x.event),
        rows.map((x) => JSON.stringify(x.payload)),
      ],
    );
    return r.map((x) => x.id);
  }

  async delivery(id: string): Promise<(DeliveryRow & { target: TargetRow | null }) | null> {
    const [d] = await this.db.query<DeliveryRow>('SELECT * FROM notification_deliveries WHERE id = $1', [id]);
    if (!d) return null;
    const [t] = d.target_id ? await this.db.query<TargetRow>('SELECT * FROM notification_targets WHERE id = $1', [d.target_id]) : [];
    return { ...d, target: t ?? null };
  }

  async orgDelivery(orgId: string, id: string): Promise<DeliveryRow | null> {
    const [d] = await this.db.query<DeliveryRow>('SELECT * FROM notification_deliveries WHERE org_id = $1 AND id = $2', [orgId, id]);
    return d ?? null;
  }

  async recordAttempt(id: string, ok: boolean, statusCode: number | null, error: string | null): Promise<void> {
    await this.db.query(
      `UPDATE notification_deliveries SET attempts = attempts + 1, status = $2, last_status_code = $3, last_error = $4,
         delivered_at = CASE WHEN $2 = 'delivered' THEN now() ELSE delivered_at END, updated_at = now() WHERE id = $1`,
      [id, ok ? 'delivered' : 'failed', statusCode, error],
    );
  }

  async markPending(orgId: string, id: string): Promise<void> {
    await this.db.query("UPDATE notification_deliveries SET status = 'pending', updated_at = now() WHERE org_id = $1 AND id = $2", [orgId, id]);
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
