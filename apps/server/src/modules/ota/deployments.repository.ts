import { OPEN_OTA_JOB_STATES, type OtaJobState } from '@tether/contracts';
import type { Database, Queryable } from '../../platform/db/database.js';
import type { MaintenanceWindow } from './maintenance-window.js';

/** SQL for deployments, their groups and their devices' jobs (migration 020). */

export type DeploymentStatus = 'running' | 'paused' | 'stopped' | 'cancelled' | 'completed';

export interface DeploymentRow {
  id: string;
  org_id: string;
  name: string;
  firmware_id: string;
  fleet_id: string | null;
  status: DeploymentStatus;
  stop_reason: string | null;
  success_threshold: number;
  error_threshold: number;
  device_timeout_s: number;
  maintenance_window: MaintenanceWindow | null;
  window_open: boolean;
  current_group: number;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

export interface GroupRow {
  idx: number;
  size: number;
  started_at: Date | null;
  finished_at: Date | null;
}

export interface JobRow {
  deployment_id: string;
  device_id: string;
  org_id: string;
  group_idx: number;
  state: OtaJobState;
  progress: number | null;
  error: string | null;
  from_version: string | null;
  attempts: number;
  released_at: Date | null;
  deadline_at: Date | null;
  notified_at: Date | null;
  finished_at: Date | null;
  updated_at: Date;
}

/** A device's open job, with what the device needs to fetch its firmware. */
export interface OpenJobRow extends JobRow {
  status: DeploymentStatus;
  maintenance_window: MaintenanceWindow | null;
  firmware_id: string;
  version: string;
  size: string;
  sha256: string;
}

export interface StateCount {
  group_idx: number;
  state: OtaJobState;
  n: number;
}

export interface JobEventRow {
  state: string;
  progress: number | null;
  error: string | null;
  source: string;
  at: Date;
}

export type EventSource = 'device' | 'server' | 'user';

export const OPEN = OPEN_OTA_JOB_STATES as readonly string[];
const OPEN_SQL = `('pending', 'notified', 'downloading', 'downloaded', 'installing')`;

export class DeploymentsRepository {
  constructor(private readonly db: Database) {}

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.db.transaction(fn);
  }

  list(orgId: string, q: { status: string | null; firmwareId: string | null; limit: number }): Promise<DeploymentRow[]> {
    return this.db.query<DeploymentRow>(
      `SELECT * FROM deployments WHERE org_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::uuid IS NULL OR firmware_id = $3)
       ORDER BY created_at DESC, id LIMIT $4`,
      [orgId, q.status, q.firmwareId, q.limit],
    );
  }

  async get(orgId: string, id: string, tx: Queryable = this.db): Promise<DeploymentRow | null> {
    const [r] = await tx.query<DeploymentRow>('SELECT * FROM deployments WHERE org_id = $1 AND id = $2', [orgId, id]);
    return r ?? null;
  }

  /** Locks the deployment for a change of state; null when another transaction holds it and skipLocked is set. */
  async lock(tx: Queryable, id: string, skipLocked = false): Promise<DeploymentRow | null> {
    const [r] = await tx.query<DeploymentRow>(`SELECT * FROM deployments WHERE id = $1 FOR UPDATE${skipLocked ? ' SKIP LOCKED' : ''}`, [id]);
    return r ?? null;
  }

  groups(deploymentIds: string[], tx: Queryable = this.db): Promise<(GroupRow & { deployment_id: string })[]> {
    return tx.query('SELECT * FROM deployment_groups WHERE deployment_id = ANY($1::uuid[]) ORDER BY deployment_id, idx', [deploymentIds]);
  }

  counts(deploymentIds: string[], tx: Queryable = this.db): Promise<(StateCount & { deployment_id: string })[]> {
    return tx.query(
      `SELECT deployment_id, group_idx, state, count(*)::int AS n FROM deployment_devices
       WHERE deployment_id = ANY($1::uuid[]) GROUP BY deployment_id, group_idx, state`,
      [deploymentIds],
    );
  }

  /** The deployment, its groups and its devices' jobs, in one transaction; the first group is released now unless paused. */
  async insert(d: {
    orgId: string;
    name: string;
    firmwareId: string;
    fleetId: string;
    status: 'running' | 'paused';
    successThreshold: number;
    errorThreshold: number;
    deviceTimeoutS: number;
    maintenanceWindow: MaintenanceWindow | null;
    createdBy: string | null;
    groups: { deviceId: string; fromVersion: string | null }[][];
    /** Open jobs of these devices in ended deployments: cancelled, superseded by this one. */
    supersede: boolean;
  }): Promise<DeploymentRow> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<DeploymentRow>(
        `INSERT INTO deployments (org_id, name, firmware_id, fleet_id, status, success_threshold, error_threshold, device_timeout_s, maintenance_window, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *`,
        [
          d.orgId,
          d.name,
          d.firmwareId,
          d.fleetId,
          d.status,
          d.successThreshold,
          d.errorThreshold,
          d.deviceTimeoutS,
          d.maintenanceWindow ? JSON.stringify(d.maintenanceWindow) : null,
          d.createdBy,
        ],
      );
      const id = row!.id;
      await tx.query(
        `INSERT INTO deployment_groups (deployment_id, idx, size, started_at)
         SELECT $1, g.idx - 1, g.size, CASE WHEN g.idx = 1 THEN now() END FROM unnest($2::int[]) WITH ORDINALITY AS g(size, idx)`,
        [id, d.groups.map((g) => g.length)],
      );
      const members = d.groups.flatMap((g, i) => g.map((m) => ({ ...m, group: i })));
      if (d.supersede) {
        const superseded = await tx.query<{ deployment_id: string; device_id: string }>(
          `UPDATE deployment_devices SET state = 'cancelled', error = $2, finished_at = now(), updated_at = now()
           WHERE device_id = ANY($1::uuid[]) AND state IN ${OPEN_SQL} RETURNING deployment_id, device_id`,
          [members.map((m) => m.deviceId), `superseded by deployment ${id}`],
        );
        await this.recordEvents(
          tx,
          superseded.map((s) => ({ deploymentId: s.deployment_id, deviceId: s.device_id, state: 'cancelled', error: `superseded by deployment ${id}` })),
          'server',
        );
      }
      await tx.query(
        `INSERT INTO deployment_devices (deployment_id, device_id, org_id, group_idx, state, from_version, released_at, deadline_at)
         SELECT $1, u.device_id, $2, u.group_idx, 'pending', u.from_version,
                CASE WHEN u.group_idx = 0 AND $6 THEN now() END,
                CASE WHEN u.group_idx = 0 AND $6 THEN now() + make_interval(secs => $7) END
         FROM unnest($3::uuid[], $4::int[], $5::text[]) AS u(device_id, group_idx, from_version)`,
        [id, d.orgId, members.map((m) => m.deviceId), members.map((m) => m.group), members.map((m) => m.fromVersion), d.status === 'running', d.deviceTimeoutS],
      );
      await tx.query(
        `INSERT INTO deployment_device_events (deployment_id, device_id, state, source) SELECT $1, u, 'pending', 'user' FROM unnest($2::uuid[]) AS u`,
        [id, members.map((m) => m.deviceId)],
      );
      return row!;
    });
  }

  /** Devices among `ids` with an open job in another deployment, and that deployment's status. */
  openJobsOf(ids: string[]): Promise<{ device_id: string; deployment_id: string; status: DeploymentStatus }[]> {
    return this.db.query(
      `SELECT dd.device_id, dd.deployment_id, d.status FROM deployment_devices dd JOIN deployments d ON d.id = dd.deployment_id
       WHERE dd.device_id = ANY($1::uuid[]) AND dd.state IN ${OPEN_SQL}`,
      [ids],
    );
  }

  setStatus(tx: Queryable, id: string, status: DeploymentStatus, stopReason: string | null = null): Promise<DeploymentRow[]> {
    const final = status === 'stopped' || status === 'cancelled' || status === 'completed';
    return tx.query<DeploymentRow>(
      `UPDATE deployments SET status = $2, stop_reason = $3, updated_at = now(), finished_at = ${final ? 'now()' : 'NULL'} WHERE id = $1 RETURNING *`,
      [id, status, stopReason],
    );
  }

  /**
   * Jobs move to `to`, where their state is one of `from` (and, if given, their group is at most
   * `upToGroup`, or above it with `aboveGroup`). Released now with a fresh deadline when `release`.
   * Each move is recorded as an event.
   */
  async move(
    tx: Queryable,
    deploymentId: string,
    m: {
      from: readonly OtaJobState[];
      to: OtaJobState;
      error?: string | null;
      group?: { upTo?: number; above?: number; only?: number };
      release?: { timeoutS: number };
      released?: boolean;
      retry?: boolean;
      source: EventSource;
    },
  ): Promise<JobRow[]> {
    const final = ['installed', 'failed', 'timed-out', 'cancelled'].includes(m.to);
    const rows = await tx.query<JobRow>(
      `UPDATE deployment_devices SET state = $3, error = $4, updated_at = now(),
         progress = CASE WHEN $3 = 'pending' THEN NULL ELSE progress END,
         finished_at = ${final ? 'now()' : 'NULL'},
         attempts = attempts + ${m.retry ? 1 : 0},
         released_at = CASE WHEN $8::int IS NULL THEN released_at ELSE now() END,
         deadline_at = CASE WHEN $8::int IS NULL THEN deadline_at ELSE now() + make_interval(secs => $8) END,
         notified_at = CASE WHEN $3 = 'pending' THEN NULL ELSE notified_at END
       WHERE deployment_id = $1 AND state = ANY($2::text[])
         AND ($5::int IS NULL OR group_idx <= $5) AND ($6::int IS NULL OR group_idx > $6) AND ($7::int IS NULL OR group_idx = $7)
         AND ($9::boolean IS NULL OR (released_at IS NOT NULL) = $9)
       RETURNING *`,
      [
        deploymentId,
        m.from,
        m.to,
        m.error ?? null,
        m.group?.upTo ?? null,
        m.group?.above ?? null,
        m.group?.only ?? null,
        m.release?.timeoutS ?? null,
        m.released ?? null,
      ],
    );
    // A re-release (pending → pending, a fresh deadline) is no transition.
    if (!(m.from.length === 1 && m.from[0] === m.to)) {
      await this.recordEvents(
        tx,
        rows.map((r) => ({ deploymentId, deviceId: r.device_id, state: m.to, error: m.error ?? null })),
        m.source,
      );
    }
    return rows;
  }

  /**
   * Open jobs past their deadline become timed-out: in any deployment once the device was told
   * (nothing under way is left hanging); a job not yet told only in a running deployment (a paused
   * one's wait, and get a fresh deadline when it resumes).
   */
  async timeOutOverdue(tx: Queryable, now: Date): Promise<JobRow[]> {
    // One node at a time: two ticks updating the same rows in different orders could deadlock.
    // A node that finds the lock held leaves this tick's timeouts to the node holding it.
    const [lock] = await tx.query<{ ok: boolean }>(`SELECT pg_try_advisory_xact_lock(hashtext('tether.ota.timeouts')) AS ok`);
    if (!lock?.ok) return [];
    const rows = await tx.query<JobRow>(
      `UPDATE deployment_devices dd SET state = 'timed-out', finished_at = now(), updated_at = now(),
         error = 'no report of the new version before the deadline'
       WHERE dd.deadline_at < $1 AND dd.state IN ${OPEN_SQL}
         AND (dd.state <> 'pending' OR EXISTS (SELECT 1 FROM deployments d WHERE d.id = dd.deployment_id AND d.status = 'running'))
       RETURNING *`,
      [now],
    );
    await this.recordEvents(
      tx,
      rows.map((r) => ({ deploymentId: r.deployment_id, deviceId: r.device_id, state: 'timed-out', error: r.error })),
      'server',
    );
    return rows;
  }

  async startGroup(tx: Queryable, deploymentId: string, idx: number, timeoutS: number): Promise<JobRow[]> {
    await tx.query('UPDATE deployments SET current_group = $2, updated_at = now() WHERE id = $1', [deploymentId, idx]);
    await tx.query('UPDATE deployment_groups SET started_at = coalesce(started_at, now()) WHERE deployment_id = $1 AND idx = $2', [deploymentId, idx]);
    return tx.query<JobRow>(
      `UPDATE deployment_devices SET released_at = now(), deadline_at = now() + make_interval(secs => $3), updated_at = now()
       WHERE deployment_id = $1 AND group_idx = $2 AND state = 'pending' RETURNING *`,
      [deploymentId, idx, timeoutS],
    );
  }

  /** Groups whose jobs have all ended get their finished_at; a group with an open job again loses it. */
  async markGroupsFinished(tx: Queryable, deploymentId: string): Promise<void> {
    await tx.query(
      `UPDATE deployment_groups g SET finished_at = CASE WHEN open.n = 0 THEN coalesce(g.finished_at, now()) END
       FROM (SELECT g2.idx, count(dd.device_id) FILTER (WHERE dd.state IN ${OPEN_SQL}) AS n
             FROM deployment_groups g2 LEFT JOIN deployment_devices dd ON dd.deployment_id = g2.deployment_id AND dd.group_idx = g2.idx
             WHERE g2.deployment_id = $1 GROUP BY g2.idx) open
       WHERE g.deployment_id = $1 AND g.idx = open.idx AND g.started_at IS NOT NULL`,
      [deploymentId],
    );
  }

  /** The running deployments, oldest first (the engine's tick). */
  async runningIds(): Promise<string[]> {
    return (await this.db.query<{ id: string }>(`SELECT id FROM deployments WHERE status = 'running' ORDER BY created_at`)).map((r) => r.id);
  }

  async job(tx: Queryable, deploymentId: string, deviceId: string, forUpdate = false): Promise<JobRow | null> {
    const [r] = await tx.query<JobRow>(`SELECT * FROM deployment_devices WHERE deployment_id = $1 AND device_id = $2${forUpdate ? ' FOR UPDATE' : ''}`, [
      deploymentId,
      deviceId,
    ]);
    return r ?? null;
  }

  /** The job a device reports on, locked, with the version its deployment installs. */
  async jobForReport(tx: Queryable, deploymentId: string, deviceId: string): Promise<(JobRow & { version: string }) | null> {
    const [r] = await tx.query<JobRow & { version: string }>(
      `SELECT dd.*, f.version FROM deployment_devices dd JOIN deployments d ON d.id = dd.deployment_id JOIN firmware f ON f.id = d.firmware_id
       WHERE dd.deployment_id = $1 AND dd.device_id = $2 FOR UPDATE OF dd`,
      [deploymentId, deviceId],
    );
    return r ?? null;
  }

  /** A device's report: the job's new state, progress and error, and the transition recorded. */
  async report(tx: Queryable, j: JobRow, change: { state: OtaJobState; progress: number | null; error: string | null }): Promise<JobRow> {
    const final = ['installed', 'failed', 'timed-out', 'cancelled'].includes(change.state);
    const [row] = await tx.query<JobRow>(
      `UPDATE deployment_devices SET state = $3, progress = $4, error = $5, updated_at = now(),
         notified_at = coalesce(notified_at, now()), finished_at = ${final ? 'now()' : 'NULL'}
       WHERE deployment_id = $1 AND device_id = $2 RETURNING *`,
      [j.deployment_id, j.device_id, change.state, change.progress, change.error],
    );
    if (change.state !== j.state) {
      await this.recordEvents(
        tx,
        [{ deploymentId: j.deployment_id, deviceId: j.device_id, state: change.state, progress: change.progress, error: change.error }],
        'device',
      );
    }
    return row!;
  }

  /**
   * The open jobs of these devices that a device may be told about now: released, in a running
   * deployment (the maintenance window is the caller's to check).
   */
  openJobs(deviceIds: string[]): Promise<OpenJobRow[]> {
    return this.db.query<OpenJobRow>(
      `SELECT dd.*, d.status, d.maintenance_window, f.id AS firmware_id, f.version, f.size, f.sha256
       FROM deployment_devices dd JOIN deployments d ON d.id = dd.deployment_id JOIN firmware f ON f.id = d.firmware_id
       WHERE dd.device_id = ANY($1::uuid[]) AND dd.state IN ${OPEN_SQL} AND dd.released_at IS NOT NULL AND d.status = 'running'`,
      [deviceIds],
    );
  }

  /** Pending jobs told to their device: notified. Only the ones still pending (another node may have told it first). */
  async markNotified(jobs: { deploymentId: string; deviceId: string }[]): Promise<JobRow[]> {
    if (!jobs.length) return [];
    return this.db.transaction(async (tx) => {
      const rows = await tx.query<JobRow>(
        `UPDATE deployment_devices dd SET state = 'notified', notified_at = now(), updated_at = now()
         FROM unnest($1::uuid[], $2::uuid[]) AS u(deployment_id, device_id)
         WHERE dd.deployment_id = u.deployment_id AND dd.device_id = u.device_id AND dd.state = 'pending' RETURNING dd.*`,
        [jobs.map((j) => j.deploymentId), jobs.map((j) => j.deviceId)],
      );
      await this.recordEvents(
        tx,
        rows.map((r) => ({ deploymentId: r.deployment_id, deviceId: r.device_id, state: 'notified' })),
        'server',
      );
      return rows;
    });
  }

  /**
   * Devices that report running `version` (their fw_version attribute): their open, timed-out
   * or cancelled job for a firmware of that version is confirmed installed.
   */
  async confirmByVersion(reports: { deviceId: string; version: string }[]): Promise<JobRow[]> {
    if (!reports.length) return [];
    return this.db.transaction(async (tx) => {
      const rows = await tx.query<JobRow>(
        `UPDATE deployment_devices dd SET state = 'installed', progress = 100, error = NULL, finished_at = now(), updated_at = now()
         FROM unnest($1::uuid[], $2::text[]) AS u(device_id, version), deployments d, firmware f
         WHERE dd.device_id = u.device_id AND d.id = dd.deployment_id AND f.id = d.firmware_id AND f.version = u.version
           AND dd.state IN ('notified', 'downloading', 'downloaded', 'installing', 'timed-out', 'cancelled')
         RETURNING dd.*`,
        [reports.map((r) => r.deviceId), reports.map((r) => r.version)],
      );
      await this.recordEvents(
        tx,
        rows.map((r) => ({ deploymentId: r.deployment_id, deviceId: r.device_id, state: 'installed', progress: 100 })),
        'device',
      );
      return rows;
    });
  }

  jobs(deploymentId: string, q: { state: string | null; group: number | null; limit: number; offset: number }): Promise<JobRow[]> {
    return this.db.query<JobRow>(
      `SELECT * FROM deployment_devices WHERE deployment_id = $1 AND ($2::text IS NULL OR state = $2) AND ($3::int IS NULL OR group_idx = $3)
       ORDER BY group_idx, updated_at DESC, device_id LIMIT $4 OFFSET $5`,
      [deploymentId, q.state, q.group, q.limit, q.offset],
    );
  }

  events(deploymentId: string, deviceId: string): Promise<JobEventRow[]> {
    return this.db.query<JobEventRow>(
      'SELECT state, progress, error, source, at FROM deployment_device_events WHERE deployment_id = $1 AND device_id = $2 ORDER BY id',
      [deploymentId, deviceId],
    );
  }

  private async recordEvents(
    tx: Queryable,
    events: { deploymentId: string; deviceId: string; state: string; progress?: number | null; error?: string | null }[],
    source: EventSource,
  ): Promise<void> {
    if (!events.length) return;
    await tx.query(
      `INSERT INTO deployment_device_events (deployment_id, device_id, state, progress, error, source)
       SELECT u.dep, u.dev, u.state, u.progress, u.error, $6 FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::int[], $5::text[]) AS u(dep, dev, state, progress, error)`,
      [
        events.map((e) => e.deploymentId),
        events.map((e) => e.deviceId),
        events.map((e) => e.state),
        events.map((e) => e.progress ?? null),
        events.map((e) => e.error ?? null),
        source,
      ],
    );
  }
}
