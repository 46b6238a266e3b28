import type { Database } from '../../platform/db/database.js';
import { AppError, assertUuid } from '../errors.js';
import { ALERT_SEVERITIES } from '@tether/contracts';
import type { Actor } from '../accounts/actor.js';
import { parseTime } from '../telemetry/telemetry.service.js';
import { AlertsRepository } from './alerts.repository.js';
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
  private readonly repo: AlertsRepository;
  constructor(db: Database) {
    this.repo = new AlertsRepository(db);
  }

  async list(actor: Actor, q: AlertQuery): Promise<AlertPage> {
    // Checked in the order the filters are applied, so a request with several bad ones gets the same first error.
    const deviceId = q.deviceId ? assertUuid(q.deviceId, 'deviceId') : undefined;
    const projectId = q.projectId ? assertUuid(q.projectId, 'projectId') : undefined;
    const severities = q.severity ? q.severity.split(',') : undefined;
    if (severities?.some((s) => !(ALERT_SEVERITIES as readonly string[]).includes(s)))
      throw new AppError('VALIDATION_FAILED', `severity must be among ${ALERT_SEVERITIES.join(', ')}`);
    const from = q.from ? parseTime(q.from, new Date(0), 'from') : undefined;
    const to = q.to ? parseTime(q.to, new Date(), 'to') : undefined;
    const limit = Math.min(Math.max(q.limit ?? 100, 1), 1000);
    const offset = Math.max(q.offset ?? 0, 0);
    const { items: rows, total } = await this.repo.list(actor.orgId, { deviceId, projectId, type: q.type, severities, from, to, limit, offset });
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
      total,
      limit,
      offset,
    };
  }
}
