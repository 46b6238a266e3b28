import type { Queryable } from '../../platform/db/database.js';
import type { ReportFormat } from './report-lines.js';

export type ReportState = 'stored' | 'parsing' | 'done' | 'failed';

export interface ReportRow {
  id: string;
  org_id: string;
  device_id: string;
  client_report_id: string | null;
  format: ReportFormat;
  state: ReportState;
  storage_key: string;
  bytes: number | string;
  sha256: string;
  received_at: Date;
  sent_uptime_s: number | null;
  last_line: number | string;
  lines_accepted: number | string;
  lines_rejected: number | string;
  readings: number | string;
  errors_dropped: number | string;
  attempts: number;
  failure: string | null;
  started_at: Date | null;
  finished_at: Date | null;
  created_at: Date;
  /** Bad lines listed in report_errors (reads only). */
  listed?: number;
}

const SELECT = 'SELECT r.*, (SELECT count(*)::int FROM report_errors e WHERE e.report_id = r.id) AS listed FROM reports r';

export interface ReportErrorRow {
  line: number | string;
  reason: string;
  message: string;
}

/** What one committed batch adds to a report's progress. */
export interface ReportProgress {
  lastLine: number;
  accepted: number;
  rejected: number;
  readings: number;
  dropped: number;
  errors: { line: number; reason: string; message: string }[];
}

/** The SQL of reports and report_errors (migration 022). Every user-facing read is scoped by org. */
export class ReportsRepository {
  constructor(private readonly db: Queryable) {}

  async insert(
    tx: Queryable,
    r: {
      id: string;
      orgId: string;
      deviceId: string;
      clientReportId: string | null;
      format: ReportFormat;
      storageKey: string;
      bytes: number;
      sha256: string;
      receivedAt: Date;
      sentUptimeS: number | null;
    },
  ): Promise<ReportRow | null> {
    // A concurrent upload with the same X-Report-Id wins: this one inserts nothing.
    const [row] = await tx.query<ReportRow>(
      `INSERT INTO reports (id, org_id, device_id, client_report_id, format, storage_key, bytes, sha256, received_at, sent_uptime_s)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (device_id, client_report_id) WHERE client_report_id IS NOT NULL DO NOTHING
       RETURNING *`,
      [r.id, r.orgId, r.deviceId, r.clientReportId, r.format, r.storageKey, r.bytes, r.sha256, r.receivedAt, r.sentUptimeS],
    );
    return row ?? null;
  }

  async byClientId(deviceId: string, clientReportId: string): Promise<ReportRow | null> {
    const [row] = await this.db.query<ReportRow>('SELECT * FROM reports WHERE device_id = $1 AND client_report_id = $2', [deviceId, clientReportId]);
    return row ?? null;
  }

  async get(orgId: string, id: string): Promise<ReportRow | null> {
    const [row] = await this.db.query<ReportRow>(`${SELECT} WHERE r.org_id = $1 AND r.id = $2`, [orgId, id]);
    return row ?? null;
  }

  /** A report as its device sees it: only its own. */
  async getOfDevice(deviceId: string, id: string): Promise<ReportRow | null> {
    const [row] = await this.db.query<ReportRow>(`${SELECT} WHERE r.device_id = $1 AND r.id = $2`, [deviceId, id]);
    return row ?? null;
  }

  async list(
    orgId: string,
    f: { deviceId: string | null; state: ReportState | null; limit: number; offset: number },
  ): Promise<{ rows: ReportRow[]; total: number }> {
    const where = 'r.org_id = $1 AND ($2::uuid IS NULL OR r.device_id = $2) AND ($3::text IS NULL OR r.state = $3)';
    const params = [orgId, f.deviceId, f.state];
    const rows = await this.db.query<ReportRow>(`${SELECT} WHERE ${where} ORDER BY r.created_at DESC, r.id LIMIT $4 OFFSET $5`, [...params, f.limit, f.offset]);
    const [c] = await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM reports r WHERE ${where}`, params);
    return { rows, total: c!.n };
  }

  async errors(reportId: string, limit: number, offset: number): Promise<{ rows: ReportErrorRow[]; total: number }> {
    const rows = await this.db.query<ReportErrorRow>('SELECT line, reason, message FROM report_errors WHERE report_id = $1 ORDER BY line LIMIT $2 OFFSET $3', [
      reportId,
      limit,
      offset,
    ]);
    const [c] = await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM report_errors WHERE report_id = $1', [reportId]);
    return { rows, total: c!.n };
  }

  async storedErrorCount(reportId: string): Promise<number> {
    const [c] = await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM report_errors WHERE report_id = $1', [reportId]);
    return c!.n;
  }

  /** A parse attempt begins: null if the report is gone or already finished. */
  async begin(id: string): Promise<ReportRow | null> {
    const [row] = await this.db.query<ReportRow>(
      `UPDATE reports SET state = 'parsing', attempts = attempts + 1, started_at = coalesce(started_at, now())
       WHERE id = $1 AND state IN ('stored', 'parsing') RETURNING *`,
      [id],
    );
    return row ?? null;
  }

  /**
   * Adds a batch's progress, in the transaction that wrote its readings, if the
   * report is still at `fromLine` (no other attempt moved it meanwhile, and it
   * was not deleted). False: nothing may be committed.
   */
  async advance(tx: Queryable, id: string, fromLine: number, p: ReportProgress): Promise<boolean> {
    const [row] = await tx.query<{ id: string }>(
      `UPDATE reports SET last_line = $3, lines_accepted = lines_accepted + $4, lines_rejected = lines_rejected + $5,
         readings = readings + $6, errors_dropped = errors_dropped + $7
       WHERE id = $1 AND last_line = $2 AND state = 'parsing' RETURNING id`,
      [id, fromLine, p.lastLine, p.accepted, p.rejected, p.readings, p.dropped],
    );
    if (!row) return false;
    if (p.errors.length) {
      await tx.query(
        `INSERT INTO report_errors (report_id, line, reason, message)
         SELECT $1, u.line, u.reason, u.message FROM unnest($2::int8[], $3::text[], $4::text[]) AS u(line, reason, message)
         ON CONFLICT (report_id, line) DO NOTHING`,
        [id, p.errors.map((e) => e.line), p.errors.map((e) => e.reason), p.errors.map((e) => e.message)],
      );
    }
    return true;
  }

  async finish(id: string, state: 'done' | 'failed', failure: string | null): Promise<void> {
    await this.db.query(`UPDATE reports SET state = $2, failure = $3, finished_at = now() WHERE id = $1 AND state = 'parsing'`, [id, state, failure]);
  }

  async delete(orgId: string, id: string): Promise<ReportRow | null> {
    const [row] = await this.db.query<ReportRow>('DELETE FROM reports WHERE org_id = $1 AND id = $2 RETURNING *', [orgId, id]);
    return row ?? null;
  }
}
