import type { Queryable } from '../../platform/db/database.js';
import { csvLine } from '../../platform/http/csv.js';
import type { Actor } from '../accounts/actor.js';
import { AppError, assertUuid, notFound } from '../errors.js';
import type { WarnedDevice } from '../alarms/evaluator.js';
import type { DevicesService } from '../devices/devices.service.js';
import type { ProjectsService } from '../projects/projects.service.js';
import type { TemplatesService } from '../templates/templates.service.js';
import { downtimeS, histogramBuckets, histogramQuantile, kaplanMeier, medianSurvival, snapThreshold, type Lifespan } from './health-stats.js';
import { HealthRepository, type FleetSelection, type GapAggregateRow } from './health.repository.js';
import type {
  AtRiskDevices,
  AtRiskQuery,
  DeviceGaps,
  DeviceGapsQuery,
  DeviceHealth,
  DeviceHealthPage,
  DeviceHealthQuery,
  FleetGaps,
  GapsQuery,
  Lifespans,
  LifespanQuery,
  SilentDevices,
  SilentQuery,
} from './health.schemas.js';

const DAY = 86_400_000;
const DEFAULT_MINUTES = 10;
const CSV_PAGE = 500;
const LIFESPAN_BINS = [0, 1, 7, 30, 90, 180, 365, 730];

export interface HealthServiceDeps {
  db: Queryable;
  projects: ProjectsService;
  templates: TemplatesService;
  devices: Pick<DevicesService, 'get'>;
  now?: () => number;
}

function gapStats(r: GapAggregateRow) {
  const hist = r.hist.map(Number);
  return {
    stats: {
      count: Number(r.gap_count),
      heartbeats: Number(r.beats),
      meanS: Number(r.gap_count) > 0 ? Number(r.gap_sum_s) / Number(r.gap_count) : null,
      medianS: hist.length ? histogramQuantile(hist, 0.5, r.gap_max_s) : null,
      p95S: hist.length ? histogramQuantile(hist, 0.95, r.gap_max_s) : null,
      maxS: r.gap_max_s,
    },
    hist,
  };
}

/**
 * Fleet health (issue 16, seed 001): silent devices, heartbeat gaps, uptime and
 * lifespans of a fleet selection, from the heartbeat rollups (health.repository.ts).
 */
export class HealthService {
  private readonly repo: HealthRepository;
  private readonly now: () => number;
  constructor(private readonly deps: HealthServiceDeps) {
    this.repo = new HealthRepository(deps.db);
    this.now = deps.now ?? Date.now;
  }

  private async selection(actor: Actor, q: { projectId?: string; templateId?: string; tag?: string }): Promise<FleetSelection> {
    const projectId = q.projectId ? await this.deps.projects.assertInOrg(actor, assertUuid(q.projectId, 'projectId')) : null;
    const templateId = q.templateId ? (await this.deps.templates.get(actor, q.templateId)).id : null;
    return { orgId: actor.orgId, projectId, templateId, tag: q.tag ?? null };
  }

  /** [from, to) in whole UTC days: by default the last 30 days up to the end of today. */
  private days(q: { from?: string; to?: string }): { from: Date; to: Date } {
    const to = Math.ceil((q.to ? Date.parse(q.to) : this.now()) / DAY) * DAY;
    const from = Math.floor((q.from ? Date.parse(q.from) : to - 30 * DAY) / DAY) * DAY;
    if (!(from < to)) throw new AppError('VALIDATION_FAILED', 'from must be before to');
    if (to - from > 400 * DAY) throw new AppError('VALIDATION_FAILED', 'the range is at most 400 days');
    return { from: new Date(from), to: new Date(to) };
  }

  async silent(actor: Actor, q: SilentQuery): Promise<SilentDevices> {
    const s = await this.selection(actor, q);
    const minutes = q.minutes ?? DEFAULT_MINUTES;
    const limit = q.limit ?? 50;
    const offset = q.offset ?? 0;
    const { from, to } = this.days(q);
    const now = this.now();
    const counts = await this.repo.silentCounts(s, minutes * 60);
    const items = await this.repo.silentDevices(s, minutes * 60, limit, offset);
    // Series points are midnights up to now (a midnight still to come has no answer).
    const last = new Date(Math.min(to.getTime(), Math.floor(now / DAY) * DAY));
    const series = last < from || q.series === false ? [] : await this.repo.silentSeries(s, minutes * 60, from, last);
    return {
      minutes,
      at: new Date(now).toISOString(),
      devices: counts.devices,
      retired: counts.retired,
      neverHeard: counts.never_heard,
      monitored: counts.monitored,
      silent: counts.silent,
      share: counts.monitored ? counts.silent / counts.monitored : null,
      items: items.map((r) => ({ id: r.id, name: r.name, lastHeartbeatAt: r.last_ts.toISOString(), silentS: (now - r.last_ts.getTime()) / 1000 })),
      limit,
      offset,
      series: series.map((p) => ({ at: p.t.toISOString(), monitored: p.alive, silent: p.silent, share: p.alive ? p.silent / p.alive : null })),
    };
  }

  async gaps(actor: Actor, q: GapsQuery): Promise<FleetGaps> {
    const s = await this.selection(actor, q);
    const { from, to } = this.days(q);
    const histogram = q.histogram !== false;
    const r = await this.repo.fleetGaps(s, from, to, histogram);
    const g = gapStats({ ...r, gap_count: r.gap_count ?? 0, gap_sum_s: r.gap_sum_s ?? 0, beats: r.beats ?? 0 });
    return { from: from.toISOString(), to: to.toISOString(), gaps: g.stats, histogram: histogram ? histogramBuckets(g.hist) : [] };
  }

  async devices(actor: Actor, q: DeviceHealthQuery & { deviceId?: string }): Promise<DeviceHealthPage> {
    const s = await this.selection(actor, q);
    const { from, to } = this.days(q);
    const limit = q.limit ?? 50;
    const offset = q.offset ?? 0;
    const silentS = (q.minutes ?? DEFAULT_MINUTES) * 60;
    const thresholdS = snapThreshold(q.thresholdS ?? silentS);
    const now = this.now();
    const rows = await this.repo.deviceHealth(s, from, to, { limit, offset, deviceId: q.deviceId });
    const items = rows.map((r): DeviceHealth => {
      const g = gapStats(r);
      let uptime: number | null = null;
      if (r.first_ts && r.last_ts) {
        const start = Math.max(from.getTime(), r.first_ts.getTime());
        const end = Math.min(to.getTime(), now, r.retired_at?.getTime() ?? Infinity);
        if (end > start) {
          const open = Math.max(0, (end - Math.max(r.last_ts.getTime(), start)) / 1000);
          uptime = Math.min(1, Math.max(0, 1 - downtimeS(g.hist, r.hist_sum.map(Number), thresholdS, open) / ((end - start) / 1000)));
        }
      }
      return {
        id: r.id,
        name: r.name,
        firstHeartbeatAt: r.first_ts?.toISOString() ?? null,
        lastHeartbeatAt: r.last_ts?.toISOString() ?? null,
        retiredAt: r.retired_at?.toISOString() ?? null,
        silent: !r.retired_at && !!r.last_ts && now - r.last_ts.getTime() > silentS * 1000,
        gaps: g.stats,
        histogram: histogramBuckets(g.hist),
        uptime,
        thresholdS,
      };
    });
    const total = q.deviceId ? items.length : await this.repo.countDevices(s);
    return { from: from.toISOString(), to: to.toISOString(), items, total, limit, offset };
  }

  /** Every device's health row of the selection as CSV lines, by name, 500 devices a page. */
  async devicesCsv(actor: Actor, q: Omit<DeviceHealthQuery, 'limit' | 'offset'>): Promise<AsyncIterable<string>> {
    const first = await this.devices(actor, { ...q, limit: CSV_PAGE, offset: 0 }); // validates the selection before the first byte
    const next = (offset: number) => this.devices(actor, { ...q, limit: CSV_PAGE, offset });
    return (async function* () {
      yield csvLine([
        'id',
        'name',
        'first_heartbeat',
        'last_heartbeat',
        'retired_at',
        'silent',
        'gaps',
        'mean_gap_s',
        'median_gap_s',
        'p95_gap_s',
        'max_gap_s',
        'uptime',
        'uptime_threshold_s',
      ]);
      for (let page = first, offset = 0; ;) {
        yield page.items
          .map((d) =>
            csvLine([
              d.id,
              d.name,
              d.firstHeartbeatAt,
              d.lastHeartbeatAt,
              d.retiredAt,
              d.silent,
              d.gaps.count,
              d.gaps.meanS,
              d.gaps.medianS,
              d.gaps.p95S,
              d.gaps.maxS,
              d.uptime,
              d.thresholdS,
            ]),
          )
          .join('');
        offset += CSV_PAGE;
        if (page.items.length < CSV_PAGE || offset >= page.total) return;
        page = await next(offset);
      }
    })();
  }

  async device(actor: Actor, id: string, q: DeviceHealthQuery): Promise<DeviceHealth> {
    const deviceId = assertUuid(id, 'device id');
    const page = await this.devices(actor, { ...q, projectId: undefined, templateId: undefined, tag: undefined, limit: 1, offset: 0, deviceId });
    const d = page.items[0];
    if (!d) throw notFound('DEVICE', id);
    return d;
  }

  async lifespans(actor: Actor, q: LifespanQuery): Promise<Lifespans> {
    const s = await this.selection(actor, q);
    const minutes = q.minutes ?? DEFAULT_MINUTES;
    const now = this.now();
    const rows = await this.repo.spans(s, q.from ? new Date(q.from) : null, q.to ? new Date(q.to) : null);
    const lives: Lifespan[] = rows.map((r) => {
      const ended = r.retired_at !== null || now - r.last_ts.getTime() > minutes * 60_000;
      const end = r.retired_at ? Math.max(r.retired_at.getTime(), r.first_ts.getTime()) : r.last_ts.getTime();
      // Whole hours: the survival curve has at most one point per hour of age.
      return { days: Math.round((end - r.first_ts.getTime()) / 3_600_000) / 24, ended };
    });
    const endedLives = lives.filter((l) => l.ended);
    const mean = (xs: Lifespan[]) => (xs.length ? xs.reduce((a, l) => a + l.days, 0) / xs.length : null);
    const survival = kaplanMeier(lives);
    return {
      minutes,
      devices: lives.length,
      ended: endedLives.length,
      alive: lives.length - endedLives.length,
      meanEndedDays: mean(endedLives),
      meanAllDays: mean(lives),
      medianSurvivalDays: medianSurvival(survival),
      distribution: LIFESPAN_BINS.map((fromDays, i) => {
        const toDays = LIFESPAN_BINS[i + 1] ?? null;
        const inBin = lives.filter((l) => l.days >= fromDays && (toDays === null || l.days < toDays));
        return { fromDays, toDays, ended: inBin.filter((l) => l.ended).length, alive: inBin.filter((l) => !l.ended).length };
      }),
      survival,
    };
  }

  /** The devices the last early-warning scan flagged, of the selection, highest score first. */
  async atRisk(actor: Actor, q: AtRiskQuery): Promise<AtRiskDevices> {
    const s = await this.selection(actor, q);
    const limit = q.limit ?? 50;
    const offset = q.offset ?? 0;
    const [page, scan] = [await this.repo.atRisk(s, q.minScore ?? 0.5, limit, offset), await this.repo.scanState()];
    return {
      scannedAt: scan.scanned_at?.toISOString() ?? null,
      assessed: scan.assessed,
      scanMs: scan.duration_ms,
      items: page.items.map((r) => ({
        id: r.device_id,
        name: r.name,
        projectId: r.project_id,
        templateId: r.template_id,
        score: r.score,
        reasons: r.reasons,
        since: r.since.toISOString(),
        firstWarnedAt: r.first_warned_at.toISOString(),
        assessedAt: r.assessed_at.toISOString(),
        lastHeartbeatAt: r.last_ts?.toISOString() ?? null,
      })),
      total: page.total,
      limit,
      offset,
    };
  }

  /** A device's heartbeat gaps, for its gap chart: each heartbeat of the range with the time since the one before. */
  async deviceGaps(actor: Actor, id: string, q: DeviceGapsQuery): Promise<DeviceGaps> {
    const device = await this.deps.devices.get(actor, id);
    const to = q.to ? Date.parse(q.to) : this.now();
    const from = q.from ? Date.parse(q.from) : to - DAY;
    if (!(from < to)) throw new AppError('VALIDATION_FAILED', 'from must be before to');
    const limit = q.limit ?? 2000;
    const beats = await this.repo.deviceBeats(device.id, new Date(from), new Date(to), limit);
    const items = beats.slice(1).map((ts, i) => ({ at: ts.toISOString(), gapS: (ts.getTime() - beats[i]!.getTime()) / 1000 }));
    const truncated = beats.length > limit && beats[0]!.getTime() >= from;
    return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), items, truncated };
  }

  /** Every device of the org the last scan flagged (health_warning alarm rules read it). */
  async warned(orgId: string): Promise<WarnedDevice[]> {
    const { items } = await this.repo.atRisk({ orgId, projectId: null, templateId: null, tag: null }, 0, 100_000, 0);
    return items.map((r) => ({ deviceId: r.device_id, projectId: r.project_id, templateId: r.template_id, name: r.name, score: r.score, reasons: r.reasons }));
  }
}
