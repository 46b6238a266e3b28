import { OPEN_OTA_JOB_STATES, OtaStatusPayload, type LiveOtaEvent, type OtaJobMessage, type OtaJobState } from '@tether/contracts';
import { Compile } from 'typebox/compile';
import type { Database } from '../../platform/db/database.js';
import type { Logger } from '../../platform/observability/logger.js';
import type { DeviceIdentity } from '../devices/devices.repository.js';
import type { DevicesService } from '../devices/devices.service.js';
import { AppError, isUuid } from '../errors.js';
import type { DomainBus } from '../events/domain-events.js';
import type { IngestMessage } from '../ingest/ingest-message.js';
import type { FirmwareService } from './firmware.service.js';
import { DeploymentsRepository, type JobRow, type OpenJobRow } from './deployments.repository.js';
import { windowOpen } from './maintenance-window.js';

const statusCheck = Compile(OtaStatusPayload);

/** Devices named in one `ota.released` event: a large group goes out in several. */
const RELEASE_CHUNK = 1000;
/** A job's download link lives until the device's deadline, within these bounds. */
const LINK_MIN_S = 600;
const LINK_MAX_S = 86400;

/** Order of a job's steps: a report moves it forward, never back. */
const STEP: Record<OtaJobState, number> = {
  pending: 0,
  notified: 1,
  downloading: 2,
  downloaded: 3,
  installing: 4,
  installed: 5,
  failed: 5,
  'timed-out': 5,
  cancelled: 5,
};
const isOpen = (s: OtaJobState) => OPEN_OTA_JOB_STATES.includes(s);

/** How OTA jobs reach devices over MQTT; the embedded broker implements it. */
export interface OtaChannel {
  /** True when the device is connected here and subscribed to devices/{id}/ota. */
  isListeningOta(deviceId: string): boolean;
  /** Publishes the job at QoS 1 on devices/{id}/ota. */
  sendOtaJob(deviceId: string, job: OtaJobMessage): void;
}

export interface OtaJobsServiceDeps {
  db: Database;
  firmware: Pick<FirmwareService, 'link'>;
  devices: Pick<DevicesService, 'places'>;
  bus: DomainBus;
  publish(orgId: string, event: LiveOtaEvent): void;
  /** The HTTP address devices download from (TETHER_PUBLIC_URL, or this node's own); null: links stay relative. */
  baseUrl(): string | null;
  logger: Logger;
}

/**
 * The device side of OTA (architecture §4): a device is told its job on
 * devices/{id}/ota (when its group starts, when it subscribes, when the
 * maintenance window opens) or over HTTP (GET /api/v1/device/ota), and reports
 * on devices/{id}/ota/status or POST /api/v1/device/ota/status. A job is
 * installed only once the device reports the new version: with its `installed`
 * report, or as its fw_version attribute.
 */
export class OtaJobsService {
  private readonly repo: DeploymentsRepository;
  private channel: OtaChannel | null = null;
  /** A job ended: its deployment may move on (DeploymentsService.poke). */
  onJobEnded: ((deploymentId: string) => void) | null = null;

  constructor(private readonly deps: OtaJobsServiceDeps) {
    this.repo = new DeploymentsRepository(deps.db);
    // Jobs released anywhere: this node tells the devices it holds.
    deps.bus.on('ota.released', ({ deviceIds }) => this.deliverHere(deviceIds));
    // A device reporting a firmware version may be confirming its job.
    deps.bus.on('telemetry.stored', ({ batch }) => this.confirmFromAttributes(batch));
  }

  attachChannel(channel: OtaChannel): void {
    this.channel = channel;
  }

  /** These devices' jobs may be told now: whichever node holds each device tells it. */
  released(deviceIds: readonly string[]): void {
    for (let i = 0; i < deviceIds.length; i += RELEASE_CHUNK) this.deps.bus.emit('ota.released', { deviceIds: deviceIds.slice(i, i + RELEASE_CHUNK) });
  }

  /** After an outage or on a subscription: the devices listening here get their open jobs. */
  async deliverHere(deviceIds: Iterable<string>): Promise<void> {
    const ids = [...deviceIds].filter((id) => this.channel?.isListeningOta(id));
    if (!ids.length) return;
    const now = new Date();
    const jobs = (await this.repo.openJobs(ids)).filter((j) => this.mayTell(j, now));
    for (const j of jobs) this.channel?.sendOtaJob(j.device_id, await this.message(j, now));
    await this.changed(await this.repo.markNotified(jobs.map((j) => ({ deploymentId: j.deployment_id, deviceId: j.device_id }))));
  }

  /** HTTP: the device's open job, marked notified; null when it has none now. */
  async jobFor(device: DeviceIdentity): Promise<OtaJobMessage | null> {
    const now = new Date();
    const [job] = (await this.repo.openJobs([device.deviceId])).filter((j) => this.mayTell(j, now));
    if (!job) return null;
    const message = await this.message(job, now);
    await this.changed(await this.repo.markNotified([{ deploymentId: job.deployment_id, deviceId: job.device_id }]));
    return message;
  }

  private mayTell(j: OpenJobRow, now: Date): boolean {
    return !j.maintenance_window || j.state !== 'pending' || windowOpen(j.maintenance_window, now);
  }

  private async message(j: OpenJobRow, now: Date): Promise<OtaJobMessage> {
    const left = j.deadline_at ? Math.ceil((j.deadline_at.getTime() - now.getTime()) / 1000) : LINK_MAX_S;
    const link = await this.deps.firmware.link(j.firmware_id, Math.min(LINK_MAX_S, Math.max(LINK_MIN_S, left)));
    const base = this.deps.baseUrl();
    return {
      deploymentId: j.deployment_id,
      firmwareId: j.firmware_id,
      version: j.version,
      url: base ? `${base.replace(/\/$/, '')}${link.url}` : link.url,
      urlExpiresAt: link.expiresAt,
      size: Number(j.size),
      sha256: j.sha256,
    };
  }

  /**
   * A device's report on its job. Refused, changing nothing: a body that is not a
   * report (INVALID_PAYLOAD), a deployment the device is not in (OTA_JOB_NOT_FOUND),
   * `installed` without the version now running (OTA_VERSION_REQUIRED) or with
   * another one (OTA_VERSION_MISMATCH). A replay, or a report the job has moved past,
   * changes nothing either and is answered `applied: false`: a device retrying
   * after a lost acknowledgement must not be cut off.
   */
  async report(device: DeviceIdentity, payload: Buffer | string | unknown): Promise<{ applied: boolean; state: OtaJobState }> {
    let body: unknown = payload;
    if (typeof payload === 'string' || Buffer.isBuffer(payload)) {
      try {
        body = JSON.parse(payload.toString());
      } catch {
        throw new AppError('INVALID_PAYLOAD', 'an OTA status report is JSON');
      }
    }
    if (!statusCheck.Check(body)) {
      throw new AppError(
        'INVALID_PAYLOAD',
        'an OTA status report is {"deploymentId","state":"downloading"|"downloaded"|"installing"|"installed"|"failed","progress"?,"error"?,"version"?}',
      );
    }
    const r = body;
    const notIn = () => new AppError('OTA_JOB_NOT_FOUND', `this device is not in deployment ${r.deploymentId}`);
    if (!isUuid(r.deploymentId)) throw notIn();
    const result = await this.repo.transaction(async (tx) => {
      const job = await this.repo.jobForReport(tx, r.deploymentId.toLowerCase(), device.deviceId);
      if (!job) throw notIn();
      if (r.state === 'installed') {
        if (r.version === undefined) throw new AppError('OTA_VERSION_REQUIRED', `report installed with the version now running ("version":"${job.version}")`);
        if (r.version !== job.version) {
          throw new AppError('OTA_VERSION_MISMATCH', `the deployment installs ${job.version}, not ${r.version}; report failed if the update did not take`);
        }
      }
      const progress = r.state === 'downloading' ? (r.progress ?? job.progress) : r.state === 'failed' ? job.progress : 100;
      const forward = STEP[r.state] > STEP[job.state];
      // A job that ended without the device (timed-out, cancelled) still takes the device's own final word.
      const late = (job.state === 'timed-out' || job.state === 'cancelled') && (r.state === 'installed' || r.state === 'failed');
      const moreProgress = r.state === 'downloading' && job.state === 'downloading' && progress !== job.progress;
      if (!(isOpen(job.state) && (forward || moreProgress)) && !late) return { applied: false, state: job.state, row: null };
      const row = await this.repo.report(tx, job, {
        state: r.state,
        progress,
        error: r.state === 'failed' ? (r.error ?? 'the device reported a failure') : null,
      });
      return { applied: true, state: row.state, row };
    });
    if (result.row) await this.changed([result.row], device.projectId);
    return { applied: result.applied, state: result.state };
  }

  /** Attributes with fw_version: the jobs installing that version on those devices are confirmed. */
  private async confirmFromAttributes(batch: readonly IngestMessage[]): Promise<void> {
    const reports: { deviceId: string; version: string }[] = [];
    for (const m of batch) {
      const v = m.attributes?.fw_version;
      if (typeof v === 'string') reports.push({ deviceId: m.device.deviceId, version: v });
    }
    if (!reports.length) return;
    try {
      await this.changed(await this.repo.confirmByVersion(reports));
    } catch (err) {
      this.deps.logger.warn({ err }, 'could not confirm OTA jobs from reported versions');
    }
  }

  /** Jobs that moved: their devices' dashboards are told; ended ones move their deployment on; released waiting ones are told. */
  async changed(rows: readonly JobRow[], projectId?: string | null): Promise<void> {
    if (!rows.length) return;
    const places =
      projectId !== undefined ? null : new Map((await this.deps.devices.places([...new Set(rows.map((r) => r.device_id))])).map((p) => [p.deviceId, p]));
    const ended = new Set<string>();
    const waiting: string[] = [];
    for (const r of rows) {
      this.deps.publish(r.org_id, {
        type: 'ota',
        deviceId: r.device_id,
        projectId: places ? (places.get(r.device_id)?.projectId ?? null) : (projectId ?? null),
        ota: { deploymentId: r.deployment_id, state: r.state, progress: r.progress, error: r.error, at: r.updated_at.toISOString() },
      });
      if (!isOpen(r.state)) ended.add(r.deployment_id);
      else if (r.state === 'pending' && r.released_at) waiting.push(r.device_id);
    }
    for (const id of ended) this.onJobEnded?.(id);
    this.released(waiting);
  }
}
