import type { Database } from '../../platform/db/database.js';
import { AppError, assertUuid, isUuid } from '../errors.js';
import { ALERT_SEVERITIES } from '@tether/contracts';
import type { Actor } from '../accounts/actor.js';
import { parseTime } from '../telemetry/telemetry.service.js';
import type { EventFile } from '../files/files.schemas.js';
import { AlertsRepository, type AlertRow } from './alerts.repository.js';
import type { Alert, AlertDetail, AlertPage, AlertQuery } from './alerts.schemas.js';

/** Where an alert's named files are found (the files module). */
export interface EventFilesSource {
  eventFiles(orgId: string, deviceId: string, names: string[]): Promise<EventFile[]>;
}

/** Alerts raised by devices; the admin query of seed 003. */
export class AlertsService {
  private readonly repo: AlertsRepository;
  constructor(
    db: Database,
    private readonly files: EventFilesSource,
  ) {
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
    let data: string | undefined;
    if (q.data !== undefined) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(q.data);
      } catch {
        throw new AppError('VALIDATION_FAILED', 'data must be a JSON object');
      }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new AppError('VALIDATION_FAILED', 'data must be a JSON object');
      data = JSON.stringify(parsed);
    }
    const limit = Math.min(Math.max(q.limit ?? 100, 1), 1000);
    const offset = Math.max(q.offset ?? 0, 0);
    const { items: rows, total } = await this.repo.list(actor.orgId, {
      deviceId,
      projectId,
      type: q.type,
      severities,
      from,
      to,
      data,
      hasFiles: q.hasFiles,
      limit,
      offset,
    });
    return {
      items: rows.map(toAlert),
      total,
      limit,
      offset,
    };
  }

  async get(actor: Actor, id: string): Promise<AlertDetail> {
    const row = isUuid(id) ? await this.repo.byId(actor.orgId, id.toLowerCase()) : null;
    if (!row) throw new AppError('ALERT_NOT_FOUND', `no alert ${id}`);
    return { ...toAlert(row), attachments: await this.files.eventFiles(actor.orgId, row.device_id, row.files) };
  }
}

const toAlert = (r: AlertRow): Alert => ({
  id: r.id,
  deviceId: r.device_id,
  deviceName: r.device_name,
  projectId: r.project_id,
  type: r.type,
  severity: r.severity,
  message: r.message,
  data: r.data,
  files: r.files,
  ts: r.ts.toISOString(),
  receivedAt: r.created_at.toISOString(),
});
