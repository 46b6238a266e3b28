import type { Database } from '../../platform/db/database.js';
import { AppError, assertUuid, notFound } from '../errors.js';
import type { DeviceIdentity } from '../devices/devices.repository.js';
import type { Actor } from '../accounts/actor.js';
import type { DevicesService } from '../devices/devices.service.js';
import { csvLine } from '../../platform/http/csv.js';
import { isoTime } from './iso-time.js';
import { TelemetryRepository, type ValueRow } from './telemetry.repository.js';
import type {
  HeartbeatHistory,
  LatestTelemetry,
  LocationHistory,
  MessageHistory,
  ReportedAttributes,
  TelemetryHistory,
  TelemetryHistoryQuery,
  TelemetryPoint,
} from './telemetry.schemas.js';

export const AGGREGATES = ['avg', 'min', 'max', 'sum', 'count', 'last'] as const;
export type Aggregate = (typeof AGGREGATES)[number];

const valueOf = (r: ValueRow) => r.num ?? r.str ?? r.bool ?? r.json ?? null;

/** "30s", "5m", "1h", "1d" or plain seconds → seconds. */
export function parseInterval(v: string): number {
  const m = /^(\d+)(s|m|h|d)?$/.exec(v.trim());
  if (!m) throw new AppError('VALIDATION_FAILED', 'interval must look like 30s, 5m, 1h, 1d or a number of seconds');
  const secs = Number(m[1]) * ({ s: 1, m: 60, h: 3600, d: 86400 } as const)[(m[2] ?? 's') as 's'];
  if (secs < 1 || secs > 366 * 86400) throw new AppError('VALIDATION_FAILED', 'interval must be between 1s and 366d');
  return secs;
}

export function parseTime(v: string | undefined, fallback: Date, name: string): Date {
  if (v === undefined || v === '') return fallback;
  const d = /^\d+$/.test(v) ? new Date(Number(v)) : new Date(v);
  if (Number.isNaN(d.getTime())) throw new AppError('VALIDATION_FAILED', `${name} must be ISO 8601 or milliseconds since the epoch`);
  return d;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

/**
 * Which time ranges to read from which table, so that together they cover
 * [from, to] exactly once: raw [from, m0), minutes [m0, h0), hours [h0, h1),
 * minutes [h1, m1), raw [m1, to]. Hours are used only when the bucket width
 * is a whole number of hours (so every hour falls inside one bucket), minutes
 * when it is a whole number of minutes. Null: no rollup applies.
 * Epoch milliseconds; whole minutes and hours since the epoch are also whole
 * since the buckets' origin, 2000-01-01 UTC.
 */
export function rollupPlan(fromMs: number, toMs: number, bucketSecs: number): { m0: number; h0: number; h1: number; m1: number } | null {
  if (bucketSecs % 60 !== 0) return null;
  const m0 = Math.ceil(fromMs / MINUTE_MS) * MINUTE_MS;
  const m1 = Math.floor(toMs / MINUTE_MS) * MINUTE_MS;
  if (m0 >= m1) return null;
  if (bucketSecs % 3600 === 0) {
    const h0 = Math.ceil(fromMs / HOUR_MS) * HOUR_MS;
    const h1 = Math.floor(toMs / HOUR_MS) * HOUR_MS;
    if (h0 < h1) return { m0, h0, h1, m1 };
  }
  return { m0, h0: m0, h1: m0, m1 };
}

export interface ParsedHistoryQuery {
  /** Empty: every key the device has. */
  keys: string[];
  from: Date;
  to: Date;
  limit: number;
  /** Raw points only: a microsecond cursor from a previous answer. */
  before: string | null;
  /** null: raw points. */
  bucket: { secs: number; agg: Aggregate } | null;
}

/** A history query's strings checked and parsed, as both device and alias reads take them. */
export function parseHistoryQuery(q: TelemetryHistoryQuery): ParsedHistoryQuery {
  const to = parseTime(q.to, new Date(), 'to');
  const from = parseTime(q.from, new Date(to.getTime() - 3600_000), 'from');
  if (from > to) throw new AppError('VALIDATION_FAILED', 'from must be before to');
  const keys = q.keys
    ? q.keys
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean)
    : [];
  const limit = Math.min(Math.max(q.limit ?? 10_000, 1), 100_000);
  if (q.interval === undefined && q.agg === undefined) {
    if (q.before !== undefined && !/^\d{1,17}$/.test(q.before)) throw new AppError('VALIDATION_FAILED', 'before must be a cursor from a previous answer');
    return { keys, from, to, limit, before: q.before ?? null, bucket: null };
  }
  const agg = (q.agg ?? 'avg') as Aggregate;
  if (!AGGREGATES.includes(agg)) throw new AppError('VALIDATION_FAILED', `agg must be one of ${AGGREGATES.join(', ')}`);
  const secs = parseInterval(q.interval ?? '60');
  if ((to.getTime() - from.getTime()) / 1000 / secs > 100_000)
    throw new AppError('VALIDATION_FAILED', 'too many buckets: widen the interval or narrow the range');
  return { keys, from, to, limit, before: null, bucket: { secs, agg } };
}

/** Reads of stored device data: latest values, history, locations, attributes, raw messages. */
export class TelemetryService {
  private readonly repo: TelemetryRepository;
  constructor(
    db: Database,
    private readonly devices: DevicesService,
  ) {
    this.repo = new TelemetryRepository(db);
  }

  /** Telemetry keys reported by the org's devices, or by those of one project, template or device. */
  reportedKeys(actor: Actor, f: { projectId?: string; templateId?: string; deviceId?: string }): Promise<string[]> {
    return this.repo.reportedKeys(actor.orgId, f);
  }

  async latest(actor: Actor, deviceId: string): Promise<LatestTelemetry> {
    // Dashboards poll this: the org check and the values in one round trip. No row: no such device in the org.
    const id = assertUuid(deviceId, 'device id');
    const rows = await this.repo.latest(actor.orgId, id);
    if (!rows.length) throw notFound('DEVICE', deviceId);
    const values: LatestTelemetry['values'] = {};
    for (const r of rows) if (r.key !== null) values[r.key] = { ts: (r as ValueRow).ts.toISOString(), value: valueOf(r as ValueRow) };
    return { deviceId: id, values };
  }

  async history(actor: Actor, deviceId: string, q: TelemetryHistoryQuery): Promise<TelemetryHistory> {
    const device = await this.devices.get(actor, deviceId);
    const p = parseHistoryQuery(q);
    const keys = p.keys.length ? p.keys : await this.repo.keys(device.id);
    const { series, truncated } = await this.read(device.id, keys, p, false);
    const head = { deviceId: device.id, from: p.from.toISOString(), to: p.to.toISOString() };
    return p.bucket ? { ...head, interval: p.bucket.secs, agg: p.bucket.agg, series } : { ...head, interval: null, agg: null, series, truncated };
  }

  /**
   * One key of one device over part of a parsed query's range, [slice.from, slice.to) or, with
   * toInclusive, [slice.from, slice.to]: the read behind history(), for a caller that stitches
   * several slices into one stream (stream aliases). The device must be in the actor's org.
   */
  async keySlice(
    actor: Actor,
    deviceId: string,
    key: string,
    q: ParsedHistoryQuery,
    slice: { from: Date; to: Date; toInclusive: boolean; limit?: number },
  ): Promise<{ points: TelemetryPoint[]; truncated: { before: string; limit: number } | null }> {
    const device = await this.devices.get(actor, deviceId);
    const { series, truncated } = await this.read(
      device.id,
      [key],
      { ...q, from: slice.from, to: slice.to, limit: slice.limit ?? q.limit },
      !slice.toInclusive,
    );
    return { points: series[key] ?? [], truncated: truncated[key] ?? null };
  }

  private async read(
    deviceId: string,
    keys: string[],
    p: ParsedHistoryQuery,
    toExclusive: boolean,
  ): Promise<{ series: TelemetryHistory['series']; truncated: NonNullable<TelemetryHistory['truncated']> }> {
    const { from, to, limit } = p;
    const series: TelemetryHistory['series'] = {};
    const truncated: NonNullable<TelemetryHistory['truncated']> = {};
    for (const k of keys) series[k] = [];
    if (!keys.length) return { series, truncated };

    if (!p.bucket) {
      // Newest `limit` points per key, returned oldest first for charting. One more is read to
      // tell a capped answer: its key then gets a cursor for the older rest, never a silent cut.
      const rows = await this.repo.rawPoints(deviceId, keys, from, to, limit, p.before, toExclusive);
      const byKey = new Map<string, (ValueRow & { us: string })[]>();
      for (const r of rows) {
        let list = byKey.get(r.key);
        if (!list) byKey.set(r.key, (list = []));
        list.push(r);
      }
      for (const [key, list] of byKey) {
        // The extra row is the oldest: drop it, and point the cursor at the oldest one returned.
        if (list.length > limit) {
          list.shift();
          truncated[key] = { before: list[0]!.us, limit };
        }
        for (const r of list) series[key]!.push({ ts: isoTime(r.ts.getTime()), value: valueOf(r) });
      }
      return { series, truncated };
    }

    const { agg, secs } = p.bucket;
    const plan = agg === 'last' ? null : rollupPlan(from.getTime(), to.getTime(), secs);
    const rows = plan
      ? await this.repo.rollupBuckets(deviceId, keys, agg as Exclude<Aggregate, 'last'>, from, to, secs, plan, toExclusive)
      : await this.repo.rawBuckets(deviceId, keys, agg, from, to, secs, toExclusive);
    for (const r of rows) {
      const value = agg === 'last' && typeof r.value === 'string' && r.value !== '' && !Number.isNaN(Number(r.value)) ? Number(r.value) : r.value;
      series[r.key]!.push({ ts: isoTime(r.ms), value });
    }
    return { series, truncated };
  }

  async locations(
    actor: Actor,
    deviceId: string,
    q: { from?: string; to?: string; limit?: number; before?: string; interval?: string },
  ): Promise<LocationHistory> {
    const device = await this.devices.get(actor, deviceId);
    const to = parseTime(q.to, new Date(), 'to');
    const from = parseTime(q.from, new Date(to.getTime() - 86400_000), 'from');
    if (from > to) throw new AppError('VALIDATION_FAILED', 'from must be before to');
    const limit = q.limit ?? 1000;
    const bucketSecs = q.interval === undefined ? null : parseInterval(q.interval);
    // One more row than asked tells a capped answer (HistoryCursor). Downsampled, the cursor is the
    // oldest returned bucket's start, so the next page holds the buckets before it, whole.
    const rows = await this.repo.locations(device.id, from, to, limit, timeCursor(q.before), bucketSecs);
    const truncated = rows.length > limit ? (rows.pop(), { before: rows.at(-1)!.us, limit }) : null;
    return {
      deviceId: device.id,
      items: rows.reverse().map(({ us: _us, ...r }) => ({ ...r, ts: r.ts.toISOString() })),
      truncated,
      interval: bucketSecs,
    };
  }

  async attributes(actor: Actor, deviceId: string): Promise<ReportedAttributes> {
    const device = await this.devices.get(actor, deviceId);
    const rows = await this.repo.attributes(device.id);
    const reported: ReportedAttributes['reported'] = {};
    for (const r of rows) reported[r.key] = { value: r.value, updatedAt: r.updated_at.toISOString() };
    return { deviceId: device.id, reported };
  }

  /** The attributes a device reported, key → value, for the device itself (ThingsBoard's client attributes). */
  async reportedValues(device: DeviceIdentity): Promise<Record<string, unknown>> {
    return Object.fromEntries((await this.repo.attributes(device.deviceId)).map((r) => [r.key, r.value]));
  }

  async heartbeats(actor: Actor, deviceId: string, q: { from?: string; to?: string; limit?: number; before?: string }): Promise<HeartbeatHistory> {
    const device = await this.devices.get(actor, deviceId);
    const to = parseTime(q.to, new Date(), 'to');
    const from = parseTime(q.from, new Date(to.getTime() - 86400_000), 'from');
    const limit = q.limit ?? 1000;
    const rows = await this.repo.heartbeats(device.id, from, to, limit, timeCursor(q.before));
    const truncated = rows.length > limit ? (rows.pop(), { before: rows.at(-1)!.us, limit }) : null;
    return { deviceId: device.id, items: rows.map(({ us: _us, ...r }) => ({ ...r, ts: r.ts.toISOString() })), truncated };
  }

  /** A device's heartbeats in [from, to] (default: the last day) as CSV lines, oldest first, read a page at a time. */
  async heartbeatsCsv(actor: Actor, deviceId: string, q: { from?: string; to?: string }): Promise<AsyncIterable<string>> {
    const device = await this.devices.get(actor, deviceId);
    const to = parseTime(q.to, new Date(), 'to');
    const from = parseTime(q.from, new Date(to.getTime() - 86400_000), 'from');
    const repo = this.repo;
    return (async function* () {
      yield csvLine(['ts', 'uptime', 'battery', 'rssi', 'data']);
      for (let after: string | null = null; ;) {
        const rows = await repo.heartbeatsAfter(device.id, from, to, CSV_PAGE, after);
        if (rows.length) yield rows.map((r) => csvLine([r.ts, r.uptime, r.battery, r.rssi, r.data])).join('');
        if (rows.length < CSV_PAGE) return;
        after = rows[rows.length - 1]!.us;
      }
    })();
  }

  /**
   * A device's raw telemetry in [from, to] (default: the last day) as CSV lines `key,ts,value`,
   * key by key (all its keys unless given), oldest first, read a page at a time.
   */
  async telemetryCsv(actor: Actor, deviceId: string, q: { keys?: string; from?: string; to?: string }): Promise<AsyncIterable<string>> {
    const device = await this.devices.get(actor, deviceId);
    const to = parseTime(q.to, new Date(), 'to');
    const from = parseTime(q.from, new Date(to.getTime() - 86400_000), 'from');
    const keys = q.keys
      ? [
          ...new Set(
            q.keys
              .split(',')
              .map((k) => k.trim())
              .filter(Boolean),
          ),
        ]
      : await this.repo.keys(device.id);
    const repo = this.repo;
    return (async function* () {
      yield csvLine(['key', 'ts', 'value']);
      for (const key of keys) {
        for (let after: string | null = null; ;) {
          const rows = await repo.pointsAfter(device.id, key, from, to, CSV_PAGE, after);
          if (rows.length) yield rows.map((r) => csvLine([r.key, r.ts, r.num ?? r.str ?? r.bool ?? r.json])).join('');
          if (rows.length < CSV_PAGE) break;
          after = rows[rows.length - 1]!.us;
        }
      }
    })();
  }

  /** The raw message history (seed 002), newest first, with keyset pagination by `before` (receive time and sequence). */
  async messages(
    actor: Actor,
    deviceId: string,
    q: { from?: string; to?: string; channel?: string; limit?: number; before?: string },
  ): Promise<MessageHistory> {
    const device = await this.devices.get(actor, deviceId);
    const to = parseTime(q.to, new Date(), 'to');
    const from = parseTime(q.from, new Date(0), 'from');
    const limit = q.limit ?? 100;
    const cursor = q.before === undefined ? null : /^(\d{1,17})\.(\d{1,18})$/.exec(q.before);
    if (q.before !== undefined && !cursor) throw new AppError('VALIDATION_FAILED', 'before must be a cursor from a previous answer');
    const rows = await this.repo.messages(device.id, {
      from,
      to,
      channel: q.channel ?? null,
      limit,
      beforeUs: cursor?.[1] ?? null,
      beforeSeq: cursor?.[2] ?? null,
    });
    const truncated = rows.length > limit ? (rows.pop(), { before: `${rows.at(-1)!.us}.${rows.at(-1)!.seq}`, limit }) : null;
    return {
      deviceId: device.id,
      items: rows.map((r) => ({ receivedAt: r.received_at.toISOString(), channel: r.channel, transport: r.transport, payload: r.payload })),
      truncated,
    };
  }
}

/** Rows read per query by the CSV exports. */
const CSV_PAGE = 5000;

function timeCursor(before: string | undefined): string | null {
  if (before === undefined) return null;
  if (!/^\d{1,17}$/.test(before)) throw new AppError('VALIDATION_FAILED', 'before must be a cursor from a previous answer');
  return before;
}
