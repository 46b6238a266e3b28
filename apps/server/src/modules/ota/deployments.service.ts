import { OPEN_OTA_JOB_STATES, OTA_JOB_STATES, planGroups, type OtaJobState } from '@tether/contracts';
import type { Database, Queryable } from '../../platform/db/database.js';
import type { Logger } from '../../platform/observability/logger.js';
import { requireRole, type Actor } from '../accounts/actor.js';
import { AuditLog } from '../audit/audit.repository.js';
import type { DevicesService } from '../devices/devices.service.js';
import { AppError, assertUuid } from '../errors.js';
import type { DomainBus } from '../events/domain-events.js';
import type { FirmwareService } from './firmware.service.js';
import type { FleetsService } from './fleets.service.js';
import { DeploymentsRepository, type DeploymentRow, type GroupRow, type JobRow, type StateCount } from './deployments.repository.js';
import type { Deployment, DeploymentInput, DeploymentJob } from './deployments.schemas.js';
import { windowOpen, windowProblem } from './maintenance-window.js';
import type { OtaJobsService } from './ota-jobs.service.js';

/** How often every worker node looks at the running deployments (hawkBit's rollout scheduler also runs every 2 s). */
export const DEPLOYMENT_TICK_MS = 2000;

const ERROR_STATES: readonly OtaJobState[] = ['failed', 'timed-out'];
const notFound = (id: string) => new AppError('DEPLOYMENT_NOT_FOUND', `deployment ${id} not found`);
const iso = (d: Date | null) => d?.toISOString() ?? null;

type Counts = Record<OtaJobState, number>;
const zero = (): Counts => Object.fromEntries(OTA_JOB_STATES.map((s) => [s, 0])) as Counts;
const openIn = (c: Counts) => OPEN_OTA_JOB_STATES.reduce((n, s) => n + c[s], 0);

export const toJob = (r: JobRow, name: string | null): DeploymentJob => ({
  deviceId: r.device_id,
  deviceName: name,
  group: r.group_idx,
  state: r.state,
  progress: r.progress,
  error: r.error,
  fromVersion: r.from_version,
  attempts: r.attempts,
  releasedAt: iso(r.released_at),
  deadlineAt: iso(r.deadline_at),
  notifiedAt: iso(r.notified_at),
  finishedAt: iso(r.finished_at),
  updatedAt: r.updated_at.toISOString(),
});

export interface DeploymentsServiceDeps {
  db: Database;
  fleets: Pick<FleetsService, 'get' | 'members'>;
  firmware: Pick<FirmwareService, 'get' | 'byIds'>;
  devices: Pick<DevicesService, 'select'>;
  jobs: OtaJobsService;
  bus: DomainBus;
  logger: Logger;
}

/**
 * Deployments (issue 14): a firmware rolled out to a fleet's devices in groups,
 * the way Eclipse hawkBit's rollouts go. Each group starts once the one before
 * has reached its success threshold; past the error threshold the whole
 * deployment stops itself. Its state lives in PostgreSQL: every worker node's
 * tick advances the running deployments, each under its row lock, so a node
 * dying changes nothing but who takes the next tick.
 */
export class DeploymentsService {
  private readonly repo: DeploymentsRepository;
  private readonly audit: AuditLog;
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;

  constructor(private readonly deps: DeploymentsServiceDeps) {
    this.repo = new DeploymentsRepository(deps.db);
    this.audit = new AuditLog(deps.db);
  }

  async list(actor: Actor, q: { status?: string; firmwareId?: string; limit?: number }): Promise<{ items: Deployment[] }> {
    const rows = await this.repo.list(actor.orgId, {
      status: q.status ?? null,
      firmwareId: q.firmwareId === undefined ? null : assertUuid(q.firmwareId, 'firmwareId'),
      limit: q.limit ?? 100,
    });
    return { items: await this.present(rows) };
  }

  async get(actor: Actor, id: string): Promise<Deployment> {
    return (await this.present([await this.row(actor, id)]))[0]!;
  }

  private async row(actor: Actor, id: string): Promise<DeploymentRow> {
    const r = await this.repo.get(actor.orgId, assertUuid(id, 'deployment id'));
    if (!r) throw notFound(id);
    return r;
  }

  /**
   * Makes a deployment of a firmware to a fleet's devices now (the ones already
   * reporting the version are left out) and starts its first group, unless made
   * paused. Refused: a firmware without its artifact, a fleet device of another
   * template, a device already in another running or paused deployment.
   */
  async create(actor: Actor, input: DeploymentInput): Promise<Deployment & { skipped: { alreadyAtVersion: number } }> {
    requireRole(actor, 'operator');
    const specs = input.groups ?? [{ percent: 100 }];
    const specProblem = planGroups(1, specs);
    if (typeof specProblem === 'string') throw new AppError('DEPLOYMENT_INVALID', `groups: ${specProblem}`);
    const firmware = await this.deps.firmware.get(actor, input.firmwareId);
    if (!firmware.uploaded) throw new AppError('FIRMWARE_NOT_UPLOADED', `firmware ${firmware.version} has no artifact yet; upload it first`);
    const fleet = await this.deps.fleets.get(actor, input.fleetId);
    if (input.maintenanceWindow) {
      const problem = windowProblem(input.maintenanceWindow);
      if (problem) throw new AppError('DEPLOYMENT_INVALID', `maintenanceWindow: ${problem}`);
    }
    const members = await this.deps.fleets.members(actor, fleet.id);
    const foreign = members.filter((m) => m.templateId !== firmware.templateId);
    if (foreign.length) {
      throw new AppError(
        'FIRMWARE_TEMPLATE_MISMATCH',
        `${foreign.length} device(s) of fleet ${fleet.name} are not of the firmware's template (${foreign[0]!.name} is one); narrow the fleet to the template`,
        { devices: foreign.slice(0, 20).map((d) => d.id) },
      );
    }
    const targets = members.filter((m) => m.firmwareVersion !== firmware.version);
    const skipped = members.length - targets.length;
    if (!targets.length) {
      throw new AppError(
        'DEPLOYMENT_EMPTY',
        members.length ? `every device of fleet ${fleet.name} already runs ${firmware.version}` : `fleet ${fleet.name} has no devices`,
      );
    }
    const busy = (await this.repo.openJobsOf(targets.map((t) => t.id))).filter((j) => j.status === 'running' || j.status === 'paused');
    if (busy.length) {
      throw new AppError(
        'DEPLOYMENT_OVERLAP',
        `${busy.length} device(s) of the fleet are in deployment ${busy[0]!.deployment_id}, still ${busy[0]!.status}; cancel it or wait for it to end`,
        { deployments: [...new Set(busy.map((b) => b.deployment_id))] },
      );
    }
    const sizes = planGroups(targets.length, specs);
    if (typeof sizes === 'string') throw new AppError('DEPLOYMENT_INVALID', `groups: ${sizes}`);
    // A random order: the first group is a fair sample of the fleet, not its oldest devices.
    const order = [...targets];
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const groups: { deviceId: string; fromVersion: string | null }[][] = [];
    let at = 0;
    for (const size of sizes) {
      groups.push(order.slice(at, at + size).map((d) => ({ deviceId: d.id, fromVersion: d.firmwareVersion })));
      at += size;
    }
    const row = await this.repo.insert({
      orgId: actor.orgId,
      name: input.name ?? `${firmware.version} to ${fleet.name}`,
      firmwareId: firmware.id,
      fleetId: fleet.id,
      status: input.paused ? 'paused' : 'running',
      successThreshold: input.successThreshold ?? 100,
      errorThreshold: input.errorThreshold ?? 10,
      deviceTimeoutS: input.deviceTimeoutS ?? 86400,
      maintenanceWindow: input.maintenanceWindow ?? null,
      createdBy: actor.userId,
      groups,
      supersede: true,
    });
    await this.audit.record({
      orgId: actor.orgId,
      actor,
      action: 'deployment.create',
      targetKind: 'deployment',
      targetId: row.id,
      details: { firmwareId: firmware.id, version: firmware.version, fleetId: fleet.id, devices: targets.length, groups: sizes, paused: !!input.paused },
    });
    if (row.status === 'running') {
      this.deps.jobs.released(groups[0]!.map((m) => m.deviceId));
      await this.advance(row.id);
    }
    return { ...(await this.get(actor, row.id)), skipped: { alreadyAtVersion: skipped } };
  }

  /** No device is told anything new until it is resumed; jobs under way go on. */
  async pause(actor: Actor, id: string): Promise<Deployment> {
    await this.change(actor, id, 'pause', ['running'], async (tx, d) => {
      await this.repo.setStatus(tx, d.id, 'paused');
      return [];
    });
    return this.get(actor, id);
  }

  /** Running again; devices still waiting get a fresh deadline, counted from now. */
  async resume(actor: Actor, id: string): Promise<Deployment> {
    const moved = await this.change(actor, id, 'resume', ['paused'], async (tx, d) => {
      await this.repo.setStatus(tx, d.id, 'running');
      // Groups of a deployment made paused start now: the current one is released.
      await this.repo.startGroup(tx, d.id, d.current_group, d.device_timeout_s);
      return this.repo.move(tx, d.id, { from: ['pending'], to: 'pending', released: true, release: { timeoutS: d.device_timeout_s }, source: 'user' });
    });
    await this.advance(moved.id);
    return this.get(actor, id);
  }

  /** Ended by a user: devices not yet told are cancelled; ones under way may still finish, and their reports count. */
  async cancel(actor: Actor, id: string): Promise<Deployment> {
    await this.change(actor, id, 'cancel', ['running', 'paused'], async (tx, d) => {
      await this.repo.setStatus(tx, d.id, 'cancelled', 'cancelled by a user');
      return this.repo.move(tx, d.id, { from: ['pending', 'notified'], to: 'cancelled', error: 'the deployment was cancelled', source: 'user' });
    });
    return this.get(actor, id);
  }

  /**
   * The failed and timed-out devices try again (and, in a stopped deployment, the
   * ones its stop cancelled). A completed or stopped deployment runs again.
   */
  async retry(actor: Actor, id: string): Promise<{ deployment: Deployment; retried: number }> {
    let retried = 0;
    const d = await this.change(actor, id, 'retry', ['running', 'paused', 'stopped', 'completed'], async (tx, d) => {
      const from: OtaJobState[] = d.status === 'stopped' ? ['failed', 'timed-out', 'cancelled'] : ['failed', 'timed-out'];
      const started = await this.repo.move(tx, d.id, {
        from,
        to: 'pending',
        group: { upTo: d.current_group },
        release: { timeoutS: d.device_timeout_s },
        retry: true,
        source: 'user',
      });
      const later = await this.repo.move(tx, d.id, { from, to: 'pending', group: { above: d.current_group }, retry: true, source: 'user' });
      retried = started.length + later.length;
      if (!retried) throw new AppError('DEPLOYMENT_STATE_CONFLICT', 'no device of the deployment has failed or timed out');
      if (d.status === 'stopped' || d.status === 'completed') await this.repo.setStatus(tx, d.id, 'running');
      return started;
    });
    await this.advance(d.id);
    return { deployment: await this.get(actor, id), retried };
  }

  /** A user's change of a deployment's state, under its row lock; its moved jobs are told to the devices' dashboards and nodes. */
  private async change(
    actor: Actor,
    id: string,
    action: string,
    allowed: DeploymentRow['status'][],
    fn: (tx: Queryable, d: DeploymentRow) => Promise<JobRow[]>,
  ): Promise<DeploymentRow> {
    requireRole(actor, 'operator');
    const current = await this.row(actor, id);
    let moved: JobRow[] = [];
    await this.repo.transaction(async (tx) => {
      const d = await this.repo.lock(tx, current.id);
      if (!d || !allowed.includes(d.status)) {
        throw new AppError('DEPLOYMENT_STATE_CONFLICT', `the deployment is ${d?.status ?? 'gone'}; ${action} needs it ${allowed.join(' or ')}`);
      }
      moved = await fn(tx, d);
      // In the transaction: the embedded database has one connection, held by it.
      await new AuditLog(tx).record({
        orgId: actor.orgId,
        actor,
        action: `deployment.${action}`,
        targetKind: 'deployment',
        targetId: d.id,
        details: { moved: moved.length },
      });
    });
    await this.deps.jobs.changed(moved);
    return current;
  }

  async jobs(actor: Actor, id: string, q: { state?: OtaJobState; group?: number; limit?: number; offset?: number }) {
    const d = await this.row(actor, id);
    const limit = q.limit ?? 100;
    const offset = q.offset ?? 0;
    const rows = await this.repo.jobs(d.id, { state: q.state ?? null, group: q.group ?? null, limit, offset });
    const names = await this.names(
      actor.orgId,
      rows.map((r) => r.device_id),
    );
    const counts = await this.repo.counts([d.id]);
    const total = counts
      .filter((c) => (q.state === undefined || c.state === q.state) && (q.group === undefined || c.group_idx === q.group))
      .reduce((n, c) => n + c.n, 0);
    return { items: rows.map((r) => toJob(r, names.get(r.device_id) ?? null)), total, limit, offset };
  }

  async job(actor: Actor, id: string, deviceId: string) {
    const d = await this.row(actor, id);
    const job = await this.repo.job(this.deps.db, d.id, assertUuid(deviceId, 'device id'));
    if (!job) throw new AppError('OTA_JOB_NOT_FOUND', `device ${deviceId} is not in deployment ${id}`);
    const names = await this.names(actor.orgId, [job.device_id]);
    const history = await this.repo.events(d.id, job.device_id);
    return {
      ...toJob(job, names.get(job.device_id) ?? null),
      history: history.map((h) => ({
        state: h.state as OtaJobState,
        progress: h.progress,
        error: h.error,
        source: h.source as 'device',
        at: h.at.toISOString(),
      })),
    };
  }

  private async names(orgId: string, ids: string[]): Promise<Map<string, string>> {
    if (!ids.length) return new Map();
    return new Map((await this.deps.devices.select(orgId, { ids }, ids.length)).map((d) => [d.id, d.name]));
  }

  private async present(rows: DeploymentRow[]): Promise<Deployment[]> {
    if (!rows.length) return [];
    const ids = rows.map((r) => r.id);
    const [groups, counts, firmware] = await Promise.all([
      this.repo.groups(ids),
      this.repo.counts(ids),
      this.deps.firmware.byIds(rows.map((r) => r.firmware_id)),
    ]);
    return rows.map((r) => {
      const mine = groups.filter((g) => g.deployment_id === r.id);
      const byGroup = mine.map(() => zero());
      const total = zero();
      for (const c of counts) {
        if (c.deployment_id !== r.id) continue;
        byGroup[c.group_idx]![c.state] += c.n;
        total[c.state] += c.n;
      }
      return {
        id: r.id,
        name: r.name,
        firmware: { id: r.firmware_id, version: firmware.get(r.firmware_id)?.version ?? '' },
        fleetId: r.fleet_id,
        status: r.status,
        stopReason: r.stop_reason,
        successThreshold: r.success_threshold,
        errorThreshold: r.error_threshold,
        deviceTimeoutS: r.device_timeout_s,
        maintenanceWindow: r.maintenance_window,
        currentGroup: r.current_group,
        total: mine.reduce((n, g) => n + g.size, 0),
        counts: total,
        groups: mine.map((g: GroupRow, i) => ({
          index: g.idx,
          size: g.size,
          status: g.finished_at ? ('done' as const) : g.started_at ? ('running' as const) : ('waiting' as const),
          startedAt: iso(g.started_at),
          finishedAt: iso(g.finished_at),
          counts: byGroup[i]!,
        })),
        createdBy: r.created_by,
        createdAt: r.created_at.toISOString(),
        updatedAt: r.updated_at.toISOString(),
        finishedAt: iso(r.finished_at),
      };
    });
  }

  // The engine

  private readonly pokes = new Map<string, NodeJS.Timeout>();

  /** A job of the deployment ended: it advances shortly (reports that end together are looked at once). */
  poke(id: string): void {
    if (this.pokes.has(id)) return;
    const t = setTimeout(() => {
      this.pokes.delete(id);
      this.advance(id).catch((err: unknown) => this.deps.logger.warn({ err, deploymentId: id }, 'deployment advance failed'));
    }, 100);
    t.unref();
    this.pokes.set(id, t);
  }

  /** Worker nodes: every DEPLOYMENT_TICK_MS, deadlines pass and running deployments move on. */
  startEngine(tickMs = DEPLOYMENT_TICK_MS): void {
    const run = () => {
      this.ticking ??= this.tick()
        .catch((err: unknown) => this.deps.logger.warn({ err }, 'deployment tick failed'))
        .finally(() => (this.ticking = null));
    };
    this.timer = setInterval(run, tickMs);
    this.timer.unref();
  }

  async stopEngine(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const t of this.pokes.values()) clearTimeout(t);
    this.pokes.clear();
    this.timer = null;
    await this.ticking;
  }

  /** One look: overdue jobs time out (in any deployment), then each running deployment advances. */
  async tick(now = new Date()): Promise<void> {
    const overdue = await this.repo.transaction((tx) => this.repo.timeOutOverdue(tx, now));
    await this.deps.jobs.changed(overdue);
    for (const id of await this.repo.runningIds()) await this.advance(id, now);
  }

  /**
   * Moves one running deployment on, under its row lock (another node holding it
   * is advancing it already): past the error threshold it stops; once its group
   * reaches the success threshold (or has ended within the error threshold) the
   * next group starts; with no job left open it is completed. When its
   * maintenance window opens, the devices waiting for it are told.
   */
  async advance(id: string, now = new Date()): Promise<void> {
    const moved: JobRow[] = [];
    const tell: string[] = [];
    await this.repo.transaction(async (tx) => {
      const d = await this.repo.lock(tx, id, true);
      if (!d) return;
      // An ended deployment's jobs under way may still end: its groups' finish times follow them.
      if (d.status !== 'running') return this.repo.markGroupsFinished(tx, d.id);
      const inWindow = d.maintenance_window ? windowOpen(d.maintenance_window, now) : true;
      if (inWindow !== d.window_open) {
        await tx.query('UPDATE deployments SET window_open = $2 WHERE id = $1', [d.id, inWindow]);
        if (inWindow) {
          const waiting = await tx.query<{ device_id: string }>(
            `SELECT device_id FROM deployment_devices WHERE deployment_id = $1 AND state = 'pending' AND released_at IS NOT NULL`,
            [d.id],
          );
          tell.push(...waiting.map((w) => w.device_id));
        }
      }
      const groups = await this.repo.groups([d.id], tx);
      let current = d.current_group;
      for (;;) {
        const counts = groupCounts(await this.repo.counts([d.id], tx), groups.length);
        const group = counts[current]!;
        const size = groups[current]!.size;
        const errors = ERROR_STATES.reduce((n, s) => n + group[s], 0);
        if (errors * 100 > d.error_threshold * size) {
          const reason = `group ${current + 1} of ${groups.length}: ${errors} of ${size} devices failed or timed out, over the ${d.error_threshold}% error threshold`;
          await this.repo.setStatus(tx, d.id, 'stopped', reason);
          moved.push(
            ...(await this.repo.move(tx, d.id, {
              from: ['pending', 'notified'],
              to: 'cancelled',
              error: 'the deployment stopped: error threshold passed',
              source: 'server',
            })),
          );
          this.deps.logger.warn({ deploymentId: d.id, reason }, 'deployment stopped');
          break;
        }
        const last = current === groups.length - 1;
        if (!last && (group.installed * 100 >= d.success_threshold * size || openIn(group) === 0)) {
          current += 1;
          const released = await this.repo.startGroup(tx, d.id, current, d.device_timeout_s);
          if (inWindow) tell.push(...released.map((r) => r.device_id));
          continue;
        }
        if (last && counts.every((c) => openIn(c) === 0)) await this.repo.setStatus(tx, d.id, 'completed');
        break;
      }
      await this.repo.markGroupsFinished(tx, d.id);
    });
    await this.deps.jobs.changed(moved);
    this.deps.jobs.released(tell);
  }
}

function groupCounts(rows: StateCount[], groups: number): Counts[] {
  const out = Array.from({ length: groups }, zero);
  for (const r of rows) out[r.group_idx]![r.state] += r.n;
  return out;
}
