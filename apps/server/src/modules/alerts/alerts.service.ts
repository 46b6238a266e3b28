import type { Database } from '../../platform/db/database.js';
import { AppError, assertUuid } from '../errors.js';
import { ALERT_SEVERITIES, type AlertSeverity } from '@tether/contracts';
import type { Actor } from '../accounts/actor.js';
import { parseTime } from '../telemetry/telemetry.service.js';
import type { AlertPage } from './alerts.schemas.js';

export interface AlertQuery {
  deviceId?: string;
  projectId?: string;
  type?: string;
  severity?: string;
  from?: string;
  to?: string;
  limit?: number;
  offset?: number;
}

/** Alerts raised by devices; the admin query of seed 003. */
export class AlertsService {
  constructor(private readonly db: Database) {}

  async list(actor: Actor, q: AlertQuery): Promise<AlertPage> {
    const where = ['e.org_id = $1', "e.kind = 'alert'"];
    const params: unknown[] = [actor.orgId];
    const add = (clause: string, v: unknown) => {
      params.push(v);
      where.push(clause.replace('?', `$${params.length}`));
    };
    if (q.deviceId) add('e.device_id = ?', assertUuid(q.deviceId, 'deviceId'));
    if (q.projectId) add('e.project_id = ?', assertUuid(q.projectId, 'projectId'));
    if (q.type) add('e.type = ?', q.type);
    if (q.severity) {
      const sev = q.severity.split(',');
      if (sev.some((s) => !(ALERT_SEVERITIES as readonly string[]).includes(s)))
        throw new AppError('VALIDATION_FAILED', `severity must be among ${ALERT_SEVERITIES.join(', ')}`);
      add('e.severity = ANY(?::text[])', sev);
    }
    if (q.from) add('e.ts >= ?', parseTime(q.from, new Date(0), 'from'));
    if (q.to) add('e.ts <= ?', parseTime(q.to, new Date(), 'to'));
    const limit = Math.min(Math.max(q.limit ?? 100, 1), 1000);
    const offset = Math.max(q.offset ?? 0, 0);
    const cond = where.join(' AND ');
    const rows = await this.db.query<{
      id: string;
      device_id: string;
      device_name: string;
      project_id: string | null;
      type: string | null;
      severity: AlertSeverity;
      message: string;
      data: Record<string, unknown>;
      ts: Date;
      created_at: Date;
    }>(
      `SELECT e.id, e.device_id, d.name AS device_name, e.project_id, e.type, e.severity, e.message, e.data, e.ts, e.created_at
       FROM events e JOIN devices d ON d.id = e.device_id
       WHERE ${cond} ORDER BY e.ts DESC, e.id LIMIT ${limit} OFFSET ${offset}`,
      params,
    );
    const [c] = await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM events e WHERE ${cond}`, params);
    return {
      items: rows.map((r) => ({
        id: r.id,
        deviceId: r.device_id,
        deviceName: r.device_name,
        projectId: r.project_id,
        type: r.type,
        severity: r.severity,
        message: r.message,
        data: r.data,
        ts: r.ts.toISOString(),
        receivedAt: r.created_at.toISOString(),
      })),
      total: c?.n ?? 0,
      limit,
      offset,
    };
  }
}
