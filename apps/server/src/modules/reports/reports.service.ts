import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Database, Queryable } from '../../platform/db/database.js';
import type { Jobs } from '../../platform/jobs/jobs.js';
import type { Logger } from '../../platform/observability/logger.js';
import type { FileStorage } from '../../platform/storage/file-storage.js';
import { putMetered, UploadInterrupted, UploadTooLarge } from '../../platform/storage/metered-put.js';
import { requireRole, type Actor } from '../accounts/actor.js';
import { AuditLog } from '../audit/audit.repository.js';
import type { DeviceIdentity } from '../devices/devices.repository.js';
import type { DevicesService } from '../devices/devices.service.js';
import { AppError, assertUuid } from '../errors.js';
import type { IngestPoint } from '../ingest/ingest-message.js';
import type { IngestService } from '../ingest/ingest.service.js';
import {
  decodeCsvLine,
  decodeJsonLine,
  LineError,
  parseCsvHeader,
  readLines,
  ReportFormatError,
  type CsvHeader,
  type ReportClock,
  type ReportFormat,
} from './report-lines.js';
import { ReportsRepository, type ReportProgress, type ReportRow, type ReportState } from './reports.repository.js';
import type { Report, ReportAccepted } from './reports.schemas.js';

export const REPORT_PARSE_QUEUE = 'report-parse';

/** Bad lines listed per report; past these they are counted only. */
export const MAX_LISTED_ERRORS = 1000;
/** Tries of a parse job: the first and pg-boss's retries (send's retryLimit + 1). */
const PARSE_RETRY_LIMIT = 3;
const MAX_ATTEMPTS = PARSE_RETRY_LIMIT + 1;
const MAX_ERROR_MESSAGE = 300;
/** Readings per transaction: about what one live ingest batch carries (5,000 messages of a few values). */
const DEFAULT_BATCH_READINGS = 20_000;

const FORMATS: Record<string, ReportFormat> = {
  'application/x-ndjson': 'jsonl',
  'application/jsonl': 'jsonl',
  'application/x-jsonlines': 'jsonl',
  'application/jsonlines': 'jsonl',
  'text/csv': 'csv',
};

const toReport = (r: ReportRow): Report => ({
  id: r.id,
  deviceId: r.device_id,
  clientReportId: r.client_report_id,
  format: r.format,
  state: r.state,
  bytes: Number(r.bytes),
  sha256: r.sha256,
  receivedAt: r.received_at.toISOString(),
  sentUptime: r.sent_uptime_s,
  lines: {
    total: Number(r.lines_accepted) + Number(r.lines_rejected),
    accepted: Number(r.lines_accepted),
    rejected: Number(r.lines_rejected),
    last: Number(r.last_line),
  },
  readings: Number(r.readings),
  errorsListed: r.listed ?? 0,
  errorsNotListed: Number(r.errors_dropped),
  failure: r.failure,
  createdAt: r.created_at.toISOString(),
  startedAt: r.started_at?.toISOString() ?? null,
  finishedAt: r.finished_at?.toISOString() ?? null,
});

const notFound = (id: string) => new AppError('REPORT_NOT_FOUND', `report ${id} not found`);

/** The report was deleted, or another try of its job moved it on: this try stops, committing nothing more. */
class ReportMoved extends Error {}

export interface ReportUpload {
  body: Readable;
  contentType: string | undefined;
  /** The request's Content-Length, if any. */
  declaredBytes: number | null;
  /** X-Device-Uptime (or ?uptime=), as sent. */
  sentUptime: string | undefined;
  /** X-Report-Id, as sent. */
  clientReportId: string | undefined;
  receivedAt: Date;
}

export interface ReportsServiceDeps {
  db: Database;
  storage: FileStorage;
  /** Null on a node without jobs: uploads are refused there. */
  jobs: Pick<Jobs, 'send' | 'wake'> | null;
  ingest: Pick<IngestService, 'writeBufferedReadings'>;
  devices: Pick<DevicesService, 'get'>;
  logger: Logger;
  /** Largest report accepted, in bytes (TETHER_REPORT_MAX_BYTES). */
  maxBytes: number;
  /** Longest line, in bytes: longer ones are bad lines (line_too_long). */
  maxLineBytes: number;
  /** Readings written per transaction. */
  batchReadings?: number;
}

/**
 * Store-and-forward reports (issue 15, seed 004 streamer reports): a device
 * uploads the readings it buffered while offline as one file. The file is
 * streamed to the file storage and the report committed before the device
 * gets its 202; a pg-boss job then parses it line by line and writes the
 * readings in batches through ingest, each batch committed together with the
 * report's progress, so a job that dies resumes after the last batch it
 * committed, and writing a reading twice adds nothing (telemetry is keyed on
 * device, key and time).
 */
export class ReportsService {
  private readonly repo: ReportsRepository;
  private readonly audit: AuditLog;

  constructor(private readonly deps: ReportsServiceDeps) {
    this.repo = new ReportsRepository(deps.db);
    this.audit = new AuditLog(deps.db);
  }

  /** Stores an uploaded report and queues its parsing; resolves once both are committed. */
  async upload(device: DeviceIdentity, u: ReportUpload): Promise<ReportAccepted> {
    const format = FORMATS[(u.contentType ?? '').split(';')[0]!.trim().toLowerCase()];
    if (!format) throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'send a report as application/x-ndjson (JSON lines) or text/csv');
    const sentUptimeS = parseUptime(u.sentUptime);
    const clientReportId = u.clientReportId ?? null;
    if (clientReportId !== null && !/^[\x21-\x7e]{1,128}$/.test(clientReportId)) {
      throw new AppError('VALIDATION_FAILED', 'X-Report-Id must be 1 to 128 printable ASCII characters');
    }
    if (clientReportId !== null) {
      const existing = await this.repo.byClientId(device.deviceId, clientReportId);
      if (existing) return accepted(existing, true);
    }
    const max = this.deps.maxBytes;
    if (u.declaredBytes !== null && u.declaredBytes > max) throw new AppError('PAYLOAD_TOO_LARGE', `a report may have at most ${max} bytes`);
    const jobs = this.deps.jobs;
    if (!jobs) throw new AppError('UNAVAILABLE', 'this node does not take reports');

    const id = randomUUID();
    const key = `reports/${device.orgId}/${id}`;
    let stored: { size: number; sha256: string };
    try {
      stored = await putMetered(this.deps.storage, key, u.body, max);
    } catch (err) {
      if (err instanceof UploadTooLarge) throw new AppError('PAYLOAD_TOO_LARGE', `a report may have at most ${max} bytes`);
      if (err instanceof UploadInterrupted) throw new AppError('UPLOAD_INCOMPLETE', `${err.message}; upload it again`);
      throw err;
    }
    const { size, sha256 } = stored;
    const drop = async () => this.deps.storage.delete(key).catch((err: unknown) => this.deps.logger.warn({ err, key }, 'could not delete a refused report'));
    if (size === 0) {
      await drop();
      throw new AppError('VALIDATION_FAILED', 'the report is empty');
    }
    let row: ReportRow | null;
    try {
      row = await this.deps.db.transaction(async (tx) => {
        const r = await this.repo.insert(tx, {
          id,
          orgId: device.orgId,
          deviceId: device.deviceId,
          clientReportId,
          format,
          storageKey: key,
          bytes: size,
          sha256,
          receivedAt: u.receivedAt,
          sentUptimeS,
        });
        // The job exists if and only if the report does.
        if (r) await this.queue(tx, r.id);
        return r;
      });
    } catch (err) {
      await drop();
      if (err instanceof AppError) throw err;
      this.deps.logger.warn({ err, deviceId: device.deviceId }, 'report could not be committed');
      throw new AppError('UNAVAILABLE', 'the report could not be stored; upload it again');
    }
    if (!row) {
      // The same X-Report-Id was committed meanwhile by a concurrent upload.
      await drop();
      const existing = await this.repo.byClientId(device.deviceId, clientReportId!);
      if (!existing) throw new AppError('UNAVAILABLE', 'the report could not be stored; upload it again');
      return accepted(existing, true);
    }
    jobs.wake(REPORT_PARSE_QUEUE);
    return accepted(row, false);
  }

  private queue(tx: Queryable, reportId: string) {
    return this.deps.jobs!.send(
      REPORT_PARSE_QUEUE,
      { reportId },
      // A long report may take a while; a try that died is taken up again after this long.
      { tx, retryLimit: PARSE_RETRY_LIMIT, retryDelay: 10, retryBackoff: true, expireInSeconds: 3600 },
    );
  }

  /** A device reads one of its own reports. */
  async getForDevice(device: DeviceIdentity, id: string): Promise<Report> {
    const r = await this.repo.getOfDevice(device.deviceId, assertUuid(id, 'report id'));
    if (!r) throw notFound(id);
    return toReport(r);
  }

  async list(actor: Actor, q: { deviceId?: string; state?: ReportState; limit?: number; offset?: number }) {
    // Another org's device is a 404, as if it did not exist.
    const deviceId = q.deviceId === undefined ? null : (await this.deps.devices.get(actor, q.deviceId)).id;
    const limit = q.limit ?? 50;
    const offset = q.offset ?? 0;
    const { rows, total } = await this.repo.list(actor.orgId, { deviceId, state: q.state ?? null, limit, offset });
    return { items: rows.map(toReport), total, limit, offset };
  }

  private async row(actor: Actor, id: string): Promise<ReportRow> {
    const r = await this.repo.get(actor.orgId, assertUuid(id, 'report id'));
    if (!r) throw notFound(id);
    return r;
  }

  async get(actor: Actor, id: string): Promise<Report> {
    return toReport(await this.row(actor, id));
  }

  async errors(actor: Actor, id: string, q: { limit?: number; offset?: number }) {
    const r = await this.row(actor, id);
    const limit = q.limit ?? 100;
    const offset = q.offset ?? 0;
    const { rows, total } = await this.repo.errors(r.id, limit, offset);
    return { items: rows.map((e) => ({ line: Number(e.line), reason: e.reason, message: e.message })), total, limit, offset };
  }

  /**
   * Deletes the report and its file (operator). The readings already stored stay:
   * they are the device's telemetry now. A parse under way stops at its next batch.
   */
  async delete(actor: Actor, id: string): Promise<void> {
    requireRole(actor, 'operator');
    const r = await this.repo.delete(actor.orgId, assertUuid(id, 'report id'));
    if (!r) throw notFound(id);
    await this.deps.storage.delete(r.storage_key).catch((err: unknown) => this.deps.logger.warn({ err, key: r.storage_key }, 'could not delete a report file'));
    await this.audit.record({
      orgId: actor.orgId,
      actor,
      action: 'report.delete',
      targetKind: 'report',
      targetId: r.id,
      details: { deviceId: r.device_id, bytes: Number(r.bytes), state: r.state },
    });
  }

  /**
   * The parse job. A failure that another try may not have (the database, the
   * storage) throws, and pg-boss tries again; the report fails for good when
   * the file cannot be read as its format, or on the last try.
   */
  async parse(reportId: string): Promise<void> {
    const r = await this.repo.begin(reportId);
    if (!r) return;
    try {
      await this.run(r);
      await this.repo.finish(r.id, 'done', null);
    } catch (err) {
      if (err instanceof ReportMoved) return;
      if (err instanceof ReportFormatError) return this.repo.finish(r.id, 'failed', err.message);
      if (r.attempts >= MAX_ATTEMPTS) {
        this.deps.logger.warn({ err, reportId }, 'report parsing failed on its last try');
        return this.repo.finish(r.id, 'failed', `parsing failed ${r.attempts} times: ${err instanceof Error ? err.message : String(err)}`);
      }
      throw err;
    }
  }

  private async run(r: ReportRow): Promise<void> {
    const stream = await this.deps.storage.get(r.storage_key);
    if (!stream) throw new ReportFormatError('the stored file is missing');
    const device: DeviceIdentity = { deviceId: r.device_id, orgId: r.org_id, projectId: null };
    const clock: ReportClock = { receivedAtUs: r.received_at.getTime() * 1000, sentUptimeS: r.sent_uptime_s };
    const batchReadings = this.deps.batchReadings ?? DEFAULT_BATCH_READINGS;
    const resumeAfter = Number(r.last_line);
    let listed = await this.repo.storedErrorCount(r.id);
    let header: CsvHeader | null = null;
    let from = resumeAfter;
    let points: IngestPoint[] = [];
    let p: ReportProgress = { lastLine: from, accepted: 0, rejected: 0, readings: 0, dropped: 0, errors: [] };

    // One batch is written while the next is parsed: two batches held at most.
    let writing: Promise<void> = Promise.resolve();
    const write = async (start: number, batch: IngestPoint[], progress: ReportProgress) => {
      await this.deps.db.transaction(async (tx) => {
        await this.deps.ingest.writeBufferedReadings(tx, device, clock.receivedAtUs, batch, { report: r.id, lines: [start + 1, progress.lastLine] });
        if (!(await this.repo.advance(tx, r.id, start, progress))) throw new ReportMoved();
      });
    };
    const flush = async () => {
      if (p.lastLine === from) return;
      const start = from;
      const batch = points;
      const progress = p;
      from = progress.lastLine;
      points = [];
      p = { lastLine: from, accepted: 0, rejected: 0, readings: 0, dropped: 0, errors: [] };
      // Batches commit in order: each one's progress starts where the last one's ended.
      await writing;
      writing = write(start, batch, progress);
      // Its failure is thrown by the next flush, or at the end.
      writing.catch(() => {});
    };

    try {
      for await (const { line, text } of readLines(stream, this.deps.maxLineBytes)) {
        if (r.format === 'csv' && header === null) {
          // The first line that is not blank; read again on a resume.
          if (text === null) throw new ReportFormatError('the CSV header is longer than the longest line allowed');
          header = parseCsvHeader(text);
          continue;
        }
        if (line <= resumeAfter) continue;
        p.lastLine = line;
        try {
          if (text === null) throw new LineError('line_too_long', `the line is longer than ${this.deps.maxLineBytes} bytes`);
          const decoded = header ? decodeCsvLine(text, header, clock) : decodeJsonLine(text, clock, device.deviceId);
          for (const pt of decoded) points.push(pt);
          p.accepted++;
          p.readings += decoded.length;
        } catch (err) {
          if (!(err instanceof LineError)) throw err;
          p.rejected++;
          if (listed < MAX_LISTED_ERRORS) {
            listed++;
            p.errors.push({ line, reason: err.reason, message: err.message.slice(0, MAX_ERROR_MESSAGE) });
          } else {
            p.dropped++;
          }
        }
        if (points.length >= batchReadings || p.accepted + p.rejected >= batchReadings) await flush();
      }
      await flush();
      await writing;
    } finally {
      stream.destroy();
      // Nothing of this try runs on after it ends.
      await writing.catch(() => {});
    }
  }
}

const accepted = (r: ReportRow, duplicate: boolean): ReportAccepted => ({
  id: r.id,
  state: r.state,
  duplicate,
  bytes: Number(r.bytes),
  sha256: r.sha256,
  statusUrl: `/api/v1/device/reports/${r.id}`,
});

function parseUptime(v: string | undefined): number | null {
  if (v === undefined || v === '') return null;
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v.trim()) || !Number.isFinite(n))
    throw new AppError('VALIDATION_FAILED', 'X-Device-Uptime must be the seconds since boot, e.g. 3600.5');
  return n;
}
