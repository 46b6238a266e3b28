import type { Database } from '../../platform/db/database.js';
import { requireRole, type Actor } from '../accounts/actor.js';
import { AuditLog } from '../audit/audit.repository.js';
import type { DevicesService } from '../devices/devices.service.js';
import { AppError, assertUuid } from '../errors.js';
import { MAX_KEY_LENGTH, RESERVED_TELEMETRY_KEYS } from '../ingest/decode.js';
import type { ProjectsService } from '../projects/projects.service.js';
import type { TelemetryHistory, TelemetryHistoryQuery, TelemetryPoint } from '../telemetry/telemetry.schemas.js';
import { parseHistoryQuery, parseTime, type ParsedHistoryQuery, type TelemetryService } from '../telemetry/telemetry.service.js';
import { combineBucket, slicesOf, type BucketPart, type Slice, type Tap } from './alias-stream.js';
import { AliasesRepository, type AliasRow, type NewTap, type TapRow } from './aliases.repository.js';
import type { Alias, AliasInput, AliasList, AliasPatch, AliasTapInput } from './aliases.schemas.js';

const notFound = (id: string) => new AppError('ALIAS_NOT_FOUND', `alias ${id} not found`);

export interface AliasesServiceDeps {
  db: Database;
  devices: Pick<DevicesService, 'select'>;
  projects: Pick<ProjectsService, 'assertInOrg'>;
  telemetry: Pick<TelemetryService, 'keySlice'>;
}

/**
 * Stream aliases (seed 004 StreamAlias): a virtual stream stitched from taps of
 * physical streams over time. Its history is read through the telemetry
 * service, one tap's slice of the range at a time, and answered in the same
 * shape as a device's history.
 */
export class AliasesService {
  private readonly repo: AliasesRepository;
  private readonly audit: AuditLog;

  constructor(private readonly deps: AliasesServiceDeps) {
    this.repo = new AliasesRepository(deps.db);
    this.audit = new AuditLog(deps.db);
  }

  async list(actor: Actor, q: { projectId?: string }): Promise<AliasList> {
    const projectId = q.projectId === undefined ? null : await this.deps.projects.assertInOrg(actor, q.projectId);
    const rows = await this.repo.list(actor.orgId, projectId);
    return { items: await this.withTaps(actor, rows) };
  }

  async get(actor: Actor, id: string): Promise<Alias> {
    const [alias] = await this.withTaps(actor, [await this.row(actor, id)]);
    return alias!;
  }

  async create(actor: Actor, input: AliasInput): Promise<Alias> {
    requireRole(actor, 'operator');
    const name = input.name.trim();
    if (!name) throw new AppError('VALIDATION_FAILED', 'name must not be blank');
    const projectId = input.projectId ? await this.deps.projects.assertInOrg(actor, input.projectId) : null;
    const taps = await this.checkTaps(actor, input.taps);
    const r = await this.repo.insert({
      orgId: actor.orgId,
      projectId,
      name,
      unit: input.unit?.trim() || null,
      description: input.description ?? '',
      createdBy: actor.userId,
      taps,
    });
    if (!r) throw new AppError('NAME_TAKEN', `an alias named "${name}" exists`);
    await this.audit.record({ orgId: actor.orgId, actor, action: 'alias.create', targetKind: 'alias', targetId: r.id, details: { name } });
    return this.get(actor, r.id);
  }

  async update(actor: Actor, id: string, patch: AliasPatch): Promise<Alias> {
    requireRole(actor, 'operator');
    const current = await this.row(actor, id);
    const name = patch.name?.trim();
    if (name === '') throw new AppError('VALIDATION_FAILED', 'name must not be blank');
    const projectId = patch.projectId ? await this.deps.projects.assertInOrg(actor, patch.projectId) : patch.projectId === undefined ? undefined : null;
    const taps = patch.taps ? await this.checkTaps(actor, patch.taps) : undefined;
    const r = await this.repo.update(actor.orgId, current.id, {
      name,
      projectId,
      unit: patch.unit === undefined ? undefined : patch.unit?.trim() || null,
      description: patch.description,
      taps,
    });
    if (r === 'taken') throw new AppError('NAME_TAKEN', `an alias named "${name}" exists`);
    if (!r) throw notFound(id);
    await this.audit.record({
      orgId: actor.orgId,
      actor,
      action: 'alias.update',
      targetKind: 'alias',
      targetId: r.id,
      details: { ...patch, taps: patch.taps?.length },
    });
    return this.get(actor, r.id);
  }

  async delete(actor: Actor, id: string): Promise<void> {
    requireRole(actor, 'operator');
    const r = await this.repo.delete(actor.orgId, assertUuid(id, 'alias id'));
    if (!r) throw notFound(id);
    await this.audit.record({ orgId: actor.orgId, actor, action: 'alias.delete', targetKind: 'alias', targetId: r.id, details: { name: r.name } });
  }

  /**
   * The alias's history, in the shape and with the query of a device's: its one series is named
   * after the alias. Each tap's slice of the range is read from its device by the telemetry
   * service and the slices are joined in time order.
   */
  async history(actor: Actor, id: string, q: TelemetryHistoryQuery): Promise<TelemetryHistory> {
    const alias = await this.row(actor, id);
    const p = parseHistoryQuery(q);
    if (p.keys.length && (p.keys.length > 1 || p.keys[0] !== alias.name)) {
      throw new AppError('VALIDATION_FAILED', `an alias has one series, named after it: leave keys out or ask for "${alias.name}"`);
    }
    const taps: Tap[] = (await this.repo.taps([alias.id])).map((t) => ({ startsAt: t.starts_at.getTime(), deviceId: t.device_id, key: t.key }));
    const slices = slicesOf(taps, p.from.getTime(), p.to.getTime());
    const head = {
      deviceId: null,
      aliasId: alias.id,
      sources: slices.map((s) => ({
        deviceId: s.deviceId,
        key: s.key,
        from: new Date(s.from).toISOString(),
        to: new Date(s.to).toISOString(),
        toInclusive: s.toInclusive,
      })),
      from: p.from.toISOString(),
      to: p.to.toISOString(),
    };
    if (p.bucket) {
      const points = await this.buckets(actor, slices, p);
      return { ...head, interval: p.bucket.secs, agg: p.bucket.agg, series: { [alias.name]: points } };
    }
    const { points, truncated } = await this.raw(actor, slices, p);
    return { ...head, interval: null, agg: null, series: { [alias.name]: points }, truncated: truncated ? { [alias.name]: truncated } : {} };
  }

  /**
   * The newest `limit` raw points across the slices, oldest first. Slices are read newest first,
   * each for what the limit leaves; the cursor is a time, so it means the same in every slice.
   */
  private async raw(
    actor: Actor,
    slices: Slice[],
    p: ParsedHistoryQuery,
  ): Promise<{ points: TelemetryPoint[]; truncated: { before: string; limit: number } | null }> {
    const parts: TelemetryPoint[][] = [];
    let left = p.limit;
    const beforeMs = p.before === null ? Infinity : Number(p.before) / 1000;
    for (let i = slices.length - 1; i >= 0; i--) {
      const s = slices[i]!;
      if (s.from >= beforeMs) continue;
      if (left === 0) {
        // The limit is used up at a tap boundary: an older slice with a point means there is more,
        // and the older rest is everything before the start of the slice read last.
        const probe = await this.read(actor, s, p, 1);
        if (probe.points.length) return { points: parts.reverse().flat(), truncated: { before: String(slices[i + 1]!.from * 1000), limit: p.limit } };
        continue;
      }
      const r = await this.read(actor, s, p, left);
      parts.push(r.points);
      left -= r.points.length;
      if (r.truncated) return { points: parts.reverse().flat(), truncated: { before: r.truncated.before, limit: p.limit } };
    }
    return { points: parts.reverse().flat(), truncated: null };
  }

  /**
   * Buckets from every slice. A bucket that spans a tap change gets a part from each side, combined
   * into one (combineBucket); for avg, each part is weighed by its count of points, read for that
   * bucket alone (a count of every point, which is the count of numbers for a numeric key).
   */
  private async buckets(actor: Actor, slices: Slice[], p: ParsedHistoryQuery): Promise<TelemetryPoint[]> {
    const perSlice: TelemetryPoint[][] = [];
    for (const s of slices) perSlice.push((await this.read(actor, s, p)).points);
    const byTs = new Map<string, { parts: BucketPart[]; slices: number[] }>();
    perSlice.forEach((points, i) => {
      for (const pt of points) {
        let b = byTs.get(pt.ts);
        if (!b) byTs.set(pt.ts, (b = { parts: [], slices: [] }));
        b.parts.push({ ts: pt.ts, value: pt.value });
        b.slices.push(i);
      }
    });
    const { agg, secs } = p.bucket!;
    const out: TelemetryPoint[] = [];
    for (const [ts, b] of byTs) {
      if (b.parts.length === 1) {
        out.push({ ts, value: b.parts[0]!.value });
        continue;
      }
      if (agg === 'avg') {
        const start = Date.parse(ts);
        for (let j = 0; j < b.parts.length; j++) {
          const s = slices[b.slices[j]!]!;
          const within: Slice = {
            ...s,
            from: Math.max(s.from, start),
            ...(s.to >= start + secs * 1000 ? { to: start + secs * 1000, toInclusive: false } : {}),
          };
          const counted = await this.read(actor, within, { ...p, bucket: { secs, agg: 'count' } });
          b.parts[j]!.count = Number(counted.points.find((x) => x.ts === ts)?.value ?? 0);
        }
      }
      out.push({ ts, value: combineBucket(agg, b.parts) });
    }
    return out.sort((x, y) => (x.ts < y.ts ? -1 : x.ts > y.ts ? 1 : 0));
  }

  private read(actor: Actor, s: Slice, p: ParsedHistoryQuery, limit?: number) {
    return this.deps.telemetry.keySlice(actor, s.deviceId, s.key, p, { from: new Date(s.from), to: new Date(s.to), toInclusive: s.toInclusive, limit });
  }

  private async row(actor: Actor, id: string): Promise<AliasRow> {
    const r = await this.repo.get(actor.orgId, assertUuid(id, 'alias id'));
    if (!r) throw notFound(id);
    return r;
  }

  private async withTaps(actor: Actor, rows: AliasRow[]): Promise<Alias[]> {
    const taps = await this.repo.taps(rows.map((r) => r.id));
    const deviceIds = [...new Set(taps.map((t) => t.device_id).filter((d): d is string => d !== null))];
    const names = new Map(
      deviceIds.length ? (await this.deps.devices.select(actor.orgId, { ids: deviceIds }, deviceIds.length)).map((d) => [d.id, d.name] as const) : [],
    );
    const byAlias = new Map<string, TapRow[]>();
    for (const t of taps) {
      let list = byAlias.get(t.alias_id);
      if (!list) byAlias.set(t.alias_id, (list = []));
      list.push(t);
    }
    return rows.map((r) => {
      const list = byAlias.get(r.id) ?? [];
      return {
        id: r.id,
        name: r.name,
        projectId: r.project_id,
        unit: r.unit,
        description: r.description,
        taps: list.map((t, i) => ({
          deviceId: t.device_id,
          deviceName: t.device_id === null ? null : (names.get(t.device_id) ?? null),
          key: t.key,
          from: t.starts_at.toISOString(),
          to: list[i + 1]?.starts_at.toISOString() ?? null,
        })),
        createdAt: r.created_at.toISOString(),
        updatedAt: r.updated_at.toISOString(),
      };
    });
  }

  /** Taps of devices of the caller's org, with keys a device could send, no two starting together; sorted by start. */
  private async checkTaps(actor: Actor, input: AliasTapInput[]): Promise<NewTap[]> {
    if (!input.length) throw new AppError('ALIAS_TAPS_INVALID', 'an alias needs at least one tap');
    const taps = input.map((t, i) => {
      const key = t.key.trim();
      if (!key || key.length > MAX_KEY_LENGTH || RESERVED_TELEMETRY_KEYS.has(key)) {
        throw new AppError(
          'ALIAS_KEY_INVALID',
          `taps[${i}].key must be a telemetry key: 1 to ${MAX_KEY_LENGTH} characters, not one of ${[...RESERVED_TELEMETRY_KEYS].join(', ')}`,
        );
      }
      const startsAt = parseTime(t.from, new Date(Number.NaN), `taps[${i}].from`);
      if (Number.isNaN(startsAt.getTime())) throw new AppError('VALIDATION_FAILED', `taps[${i}].from is required`);
      return { deviceId: assertUuid(t.deviceId, `taps[${i}].deviceId`), key, startsAt };
    });
    taps.sort((a, b) => a.startsAt.getTime() - b.startsAt.getTime());
    for (let i = 1; i < taps.length; i++) {
      if (taps[i]!.startsAt.getTime() === taps[i - 1]!.startsAt.getTime()) {
        throw new AppError('ALIAS_TAPS_INVALID', `two taps start at ${taps[i]!.startsAt.toISOString()}: each tap runs until the next one starts`);
      }
    }
    const wanted = [...new Set(taps.map((t) => t.deviceId))];
    const found = new Set((await this.deps.devices.select(actor.orgId, { ids: wanted }, wanted.length)).map((d) => d.id));
    const missing = wanted.find((d) => !found.has(d));
    if (missing) throw new AppError('DEVICE_NOT_FOUND', `device ${missing} not found`);
    return taps;
  }
}
