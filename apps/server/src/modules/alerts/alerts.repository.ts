/**
 * SQL for alerts: the rows of `events` (written by ingest) with kind 'alert'.
 *
 * Foreign table read here: `devices` (devices module), joined in `list()` for
 * each alert's device name, so a page of alerts is one query, not one per device.
 */
import type { Queryable } from '../../platform/db/database.js';
import type { AlertSeverity } from '@tether/contracts';

export interface AlertRow {
  id: string;
  device_id: string;
  device_name: string;
  project_id: string | null;
  type: string | null;
  severity: AlertSeverity;
  message: string;
  data: Record<string, unknown>;
  files: string[];
  ts: Date;
  created_at: Date;
}

/** Every field is optional; the service has validated them. */
export interface AlertFilter {
  deviceId?: string;
  projectId?: string;
  type?: string;
  severities?: string[];
  from?: Date;
  to?: Date;
  /** JSON the data must contain (jsonb @>). */
  data?: string;
  hasFiles?: boolean;
  limit: number;
  offset: number;
}

export class AlertsRepository {
  constructor(private readonly db: Queryable) {}

  /** A page of the org's alerts, newest first, and how many match in all. */
  async list(orgId: string, f: AlertFilter): Promise<{ items: AlertRow[]; total: number }> {
    const where = ['e.org_id = $1', "e.kind = 'alert'"];
    const params: unknown[] = [orgId];
    const add = (clause: string, v: unknown) => {
      params.push(v);
      where.push(clause.replace('?', `$${params.length}`));
    };
    if (f.deviceId) add('e.device_id = ?', f.deviceId);
    if (f.projectId) add('e.project_id = ?', f.projectId);
    if (f.type) add('e.type = ?', f.type);
    if (f.severities) add('e.severity = ANY(?::text[])', f.severities);
    if (f.from) add('e.ts >= ?', f.from);
    if (f.to) add('e.ts <= ?', f.to);
    if (f.data) add('e.data @> ?::jsonb', f.data);
    if (f.hasFiles !== undefined) where.push(f.hasFiles ? "e.files <> '{}'" : "e.files = '{}'");
    const cond = where.join(' AND ');
    const rows = await this.db.query<AlertRow>(
      `SELECT e.id, e.device_id, d.name AS device_name, e.project_id, e.type, e.severity, e.message, e.data, e.files, e.ts, e.created_at
       FROM events e JOIN devices d ON d.id = e.device_id
       WHERE ${cond} ORDER BY e.ts DESC, e.id LIMIT ${f.limit} OFFSET ${f.offset}`,
      params,
    );
    const [c] = await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM events e WHERE ${cond}`, params);
    return { items: rows, total: c?.n ?? 0 };
  }

  async byId(orgId: string, id: string): Promise<AlertRow | null> {
    const [r] = await this.db.query<AlertRow>(
      `SELECT e.id, e.device_id, d.name AS device_name, e.project_id, e.type, e.severity, e.message, e.data, e.files, e.ts, e.created_at
       FROM events e JOIN devices d ON d.id = e.device_id
       WHERE e.org_id = $1 AND e.id = $2 AND e.kind = 'alert'`,
      [orgId, id],
    );
    return r ?? null;
  }
}
