import type { Database } from '../../platform/db/database.js';
import { AppError, assertUuid, notFound } from '../errors.js';
import type { Actor } from '../accounts/actor.js';
import type { DevicesService } from '../devices/devices.service.js';
import { isoTime } from './iso-time.js';
import type {
  DeviceMessage,
  HeartbeatHistory,
  LatestTelemetry,
  LocationHistory,
  MessageHistory,
  ReportedAttributes,
  TelemetryHistory,
} from './telemetry.schemas.js';

export const AGGREGATES = ['avg', 'min', 'max', 'sum', 'count', 'last'] as const;
export type Aggregate = (typeof AGGREGATES)[number];

interface ValueRow {
  key: string;
  ts: Date;
  num: number | null;
  str: string | null;
  bool: boolean | null;
  json: unknown;
}
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

const ORIGIN = "TIMESTAMPTZ '2000-01-01 00:00:00+00'";
const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

const RAW_AGGREGATE: Record<Aggregate, string> = {
  avg: 'avg(num)',
  min: 'min(num)',
  max: 'max(num)',
  sum: 'sum(num)',
  count: 'count(*)::float8',
  last: '(array_agg(coalesce(num::text, str, bool::text, json::text) ORDER BY ts DESC))[1]',
};

/** The same aggregates over rollup rows (migration 010); 'last' is always read raw. */
const ROLLUP_COMBINE: Record<Exclude<Aggregate, 'last'>, string> = {
  avg: 'sum(sum) / nullif(sum(n), 0)',
  min: 'min(min)',
  max: 'max(max)',
  sum: 'CASE WHEN sum(n) > 0 THEN sum(sum) END',
  count: 'sum(cnt)::float8',
};

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

/**
 * A bucket's start as epoch milliseconds. Buckets are whole seconds from a
 * whole-second origin, so the float8 is exact, and the server formats it
 * without parsing a timestamp's text into a Date first.
 */
const BUCKET_MS = (secs: string, ts: string) => `date_part('epoch', date_bin(make_interval(secs => ${secs}), ${ts}, ${ORIGIN})) * 1000`;

/**
 * One branch per range, so each is a plain index range scan. Raw rows enter
 * as one-point partial aggregates. $1 device, $2 keys, $3 from, $4 m0, $5 h0,
 * $6 h1, $7 m1, $8 to (inclusive, as the raw query), $9 bucket seconds.
 * Hour rows are complete only before hours_done_until (migration 011): the
 * hours from it on come from the minute rows.
 */
const ROLLUP_HISTORY_SQL = (combine: string) => `
WITH done AS MATERIALIZED (
  SELECT least($6::timestamptz, greatest($5::timestamptz, (SELECT hours_done_until FROM rollup_state))) AS h1
),
parts AS (
  SELECT key, ts AS t, 1::bigint AS cnt, (num IS NOT NULL)::int::bigint AS n, coalesce(num, 0) AS sum, num AS min, num AS max
  FROM telemetry WHERE device_id = $1 AND key = ANY($2::text[]) AND ts >= $3 AND ts < $4
  UNION ALL
  SELECT key, bucket, cnt, n, sum, min, max FROM telemetry_1m WHERE device_id = $1 AND key = ANY($2::text[]) AND bucket >= $4 AND bucket < $5
  UNION ALL
  SELECT key, bucket, cnt, n, sum, min, max FROM telemetry_1h WHERE device_id = $1 AND key = ANY($2::text[]) AND bucket >= $5 AND bucket < (SELECT h1 FROM done)
  UNION ALL
  SELECT key, bucket, cnt, n, sum, min, max FROM telemetry_1m WHERE device_id = $1 AND key = ANY($2::text[]) AND bucket >= (SELECT h1 FROM done) AND bucket < $7
  UNION ALL
  SELECT key, ts, 1, (num IS NOT NULL)::int, coalesce(num, 0), num, num
  FROM telemetry WHERE device_id = $1 AND key = ANY($2::text[]) AND ts >= $7 AND ts <= $8
)
SELECT key, ${BUCKET_MS('$9', 't')} AS ms, ${combine} AS value
FROM parts GROUP BY key, ms ORDER BY key, ms`;

/** Reads of stored device data: latest values, history, locations, attributes, raw messages. */
export class TelemetryService {
  constructor(
    private readonly db: Database,
    private readonly devices: DevicesService,
  ) {}

  async latest(actor: Actor, deviceId: string): Promise<LatestTelemetry> {
    // Dashboards poll this: the org check and the values in one round trip. No row: no such device in the org.
    const id = assertUuid(deviceId, 'device id');
    const rows = await this.db.query<ValueRow | { key: null }>(
      `SELECT l.key, l.ts, l.num, l.str, l.bool, l.json FROM devices d LEFT JOIN telemetry_latest l ON l.device_id = d.id
       WHERE d.org_id = $1 AND d.id = $2 ORDER BY l.key`,
      [actor.orgId, id],
    );
    if (!rows.length) throw notFound('DEVICE', deviceId);
    const values: LatestTelemetry['values'] = {};
    for (const r of rows) if (r.key !== null) values[r.key] = { ts: (r as ValueRow).ts.toISOString(), value: valueOf(r as ValueRow) };
    return { deviceId: id, values };
  }

  async history(
    actor: Actor,
    deviceId: string,
    q: { keys?: string; from?: string; to?: string; interval?: string; agg?: string; limit?: number; before?: string },
  ): Promise<TelemetryHistory> {
    const device = await this.devices.get(actor, deviceId);
    const to = parseTime(q.to, new Date(), 'to');
    const from = parseTime(q.from, new Date(to.getTime() - 3600_000), 'from');
    if (from > to) throw new AppError('VALIDATION_FAILED', 'from must be before to');
    let keys = q.keys
      ? q.keys
          .split(',')
          .map((k) => k.trim())
          .filter(Boolean)
      : [];
    if (!keys.length) {
      keys = (await this.db.query<{ key: string }>('SELECT key FROM telemetry_latest WHERE device_id = $1 ORDER BY key', [device.id])).map((r) => r.key);
    }
    const limit = Math.min(Math.max(q.limit ?? 10_000, 1), 100_000);
    const series: TelemetryHistory['series'] = {};
    for (const k of keys) series[k] = [];
    if (!keys.length) return { deviceId: device.id, from: from.toISOString(), to: to.toISOString(), interval: null, agg: null, series };

    if (q.interval === undefined && q.agg === undefined) {
      // Newest `limit` points per key, returned oldest first for charting. One more is read to
      // tell a capped answer: its key then gets a cursor for the older rest, never a silent cut.
      if (q.before !== undefined && !/^\d{1,17}$/.test(q.before)) throw new AppError('VALIDATION_FAILED', 'before must be a cursor from a previous answer');
      const rows = await this.db.query<ValueRow & { us: string }>(
        `SELECT k.key, t.ts, (extract(epoch FROM t.ts) * 1000000)::int8::text AS us, t.num, t.str, t.bool, t.json FROM unnest($2::text[]) AS k(key)
         CROSS JOIN LATERAL (SELECT ts, num, str, bool, json FROM telemetry
           WHERE device_id = $1 AND key = k.key AND ts >= $3 AND ts <= $4 AND ($6::int8 IS NULL OR ts < to_timestamp($6::int8::float8 / 1000000))
           ORDER BY ts DESC LIMIT $5 + 1) t
         ORDER BY k.key, t.ts`,
        [device.id, keys, from, to, limit, q.before ?? null],
      );
      const byKey = new Map<string, (ValueRow & { us: string })[]>();
      for (const r of rows) {
        let list = byKey.get(r.key);
        if (!list) byKey.set(r.key, (list = []));
        list.push(r);
      }
      const truncated: NonNullable<TelemetryHistory['truncated']> = {};
      for (const [key, list] of byKey) {
        // The extra row is the oldest: drop it, and point the cursor at the oldest one returned.
        if (list.length > limit) {
          list.shift();
          truncated[key] = { before: list[0]!.us, limit };
        }
        for (const r of list) series[key]!.push({ ts: isoTime(r.ts.getTime()), value: valueOf(r) });
      }
      return { deviceId: device.id, from: from.toISOString(), to: to.toISOString(), interval: null, agg: null, series, truncated };
    }

    const agg = (q.agg ?? 'avg') as Aggregate;
    if (!AGGREGATES.includes(agg)) throw new AppError('VALIDATION_FAILED', `agg must be one of ${AGGREGATES.join(', ')}`);
    const secs = parseInterval(q.interval ?? '60');
    if ((to.getTime() - from.getTime()) / 1000 / secs > 100_000)
      throw new AppError('VALIDATION_FAILED', 'too many buckets: widen the interval or narrow the range');
    const plan = agg === 'last' ? null : rollupPlan(from.getTime(), to.getTime(), secs);
    const rows = plan
      ? await this.db.query<{ key: string; ms: number; value: number | null }>(ROLLUP_HISTORY_SQL(ROLLUP_COMBINE[agg as Exclude<Aggregate, 'last'>]), [
          device.id,
          keys,
          from,
          new Date(plan.m0),
          new Date(plan.h0),
          new Date(plan.h1),
          new Date(plan.m1),
          to,
          secs,
        ])
      : await this.db.query<{ key: string; ms: number; value: number | string | null }>(
          `SELECT key, ${BUCKET_MS('$5', 'ts')} AS ms, ${RAW_AGGREGATE[agg]} AS value
           FROM telemetry WHERE device_id = $1 AND key = ANY($2::text[]) AND ts >= $3 AND ts <= $4
           GROUP BY key, ms ORDER BY key, ms`,
          [device.id, keys, from, to, secs],
        );
    for (const r of rows) {
      const value = agg === 'last' && typeof r.value === 'string' && r.value !== '' && !Number.isNaN(Number(r.value)) ? Number(r.value) : r.value;
      series[r.key]!.push({ ts: isoTime(r.ms), value });
    }
    return { deviceId: device.id, from: from.toISOString(), to: to.toISOString(), interval: secs, agg, series };
  }

  async locations(actor: Actor, deviceId: string, q: { from?: string; to?: string; limit?: number; before?: string }): Promise<LocationHistory> {
    const device = await this.devices.get(actor, deviceId);
    const to = parseTime(q.to, new Date(), 'to');
    const from = parseTime(q.from, new Date(to.getTime() - 86400_000), 'from');
    const limit = q.limit ?? 1000;
    // One more row than asked tells a capped answer (HistoryCursor).
    const rows = await this.db.query<{
      ts: Date;
      us: string;
      lat: number;
      lon: number;
      alt: number | null;
      speed: number | null;
      heading: number | null;
      accuracy: number | null;
    }>(
      `SELECT ts, ${US_OF('ts')} AS us, lat, lon, alt, speed, heading, accuracy FROM locations
       WHERE device_id = $1 AND ts >= $2 AND ts <= $3 AND ($5::int8 IS NULL OR ts < ${AT_US('$5')})
       ORDER BY ts DESC LIMIT $4 + 1`,
      [device.id, from, to, limit, timeCursor(q.before)],
    );
    const truncated = rows.length > limit ? (rows.pop(), { before: rows.at(-1)!.us, limit }) : null;
    return { deviceId: device.id, items: rows.reverse().map(({ us: _us, ...r }) => ({ ...r, ts: r.ts.toISOString() })), truncated };
  }

  async attributes(actor: Actor, deviceId: string): Promise<ReportedAttributes> {
    const device = await this.devices.get(actor, deviceId);
    const rows = await this.db.query<{ key: string; value: unknown; updated_at: Date }>(
      'SELECT key, value, updated_at FROM device_attributes WHERE device_id = $1 ORDER BY key',
      [device.id],
    );
    const reported: ReportedAttributes['reported'] = {};
    for (const r of rows) reported[r.key] = { value: r.value, updatedAt: r.updated_at.toISOString() };
    return { deviceId: device.id, reported };
  }

  async heartbeats(actor: Actor, deviceId: string, q: { from?: string; to?: string; limit?: number; before?: string }): Promise<HeartbeatHistory> {
    const device = await this.devices.get(actor, deviceId);
    const to = parseTime(q.to, new Date(), 'to');
    const from = parseTime(q.from, new Date(to.getTime() - 86400_000), 'from');
    const limit = q.limit ?? 1000;
    const rows = await this.db.query<{
      ts: Date;
      us: string;
      uptime: number | null;
      battery: number | null;
      rssi: number | null;
      data: Record<string, unknown> | null;
    }>(
      `SELECT ts, ${US_OF('ts')} AS us, uptime, battery, rssi, data FROM heartbeats
       WHERE device_id = $1 AND ts >= $2 AND ts <= $3 AND ($5::int8 IS NULL OR ts < ${AT_US('$5')})
       ORDER BY ts DESC LIMIT $4 + 1`,
      [device.id, from, to, limit, timeCursor(q.before)],
    );
    const truncated = rows.length > limit ? (rows.pop(), { before: rows.at(-1)!.us, limit }) : null;
    return { deviceId: device.id, items: rows.map(({ us: _us, ...r }) => ({ ...r, ts: r.ts.toISOString() })), truncated };
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
    const rows = await this.db.query<{
      received_at: Date;
      us: string;
      seq: string;
      channel: DeviceMessage['channel'];
      transport: DeviceMessage['transport'];
      payload: unknown;
    }>(
      `SELECT received_at, ${US_OF('received_at')} AS us, seq::text AS seq, channel, transport, payload FROM messages
       WHERE device_id = $1 AND received_at >= $2 AND received_at <= $3 AND ($4::text IS NULL OR channel = $4)
         AND ($6::int8 IS NULL OR (received_at, seq) < (${AT_US('$6')}, $7::int8))
       ORDER BY received_at DESC, seq DESC LIMIT $5 + 1`,
      [device.id, from, to, q.channel ?? null, limit, cursor?.[1] ?? null, cursor?.[2] ?? null],
    );
    const truncated = rows.length > limit ? (rows.pop(), { before: `${rows.at(-1)!.us}.${rows.at(-1)!.seq}`, limit }) : null;
    return {
      deviceId: device.id,
      items: rows.map((r) => ({ receivedAt: r.received_at.toISOString(), channel: r.channel, transport: r.transport, payload: r.payload })),
      truncated,
    };
  }
}

/** A time as whole microseconds since the epoch, exactly (PostgreSQL keeps microseconds). */
const US_OF = (col: string) => `(extract(epoch FROM ${col}) * 1000000)::int8::text`;
/** The time of such a microsecond cursor, exactly (no float seconds on the way). */
const AT_US = (param: string) => `(timestamptz 'epoch' + ${param}::int8 * interval '1 microsecond')`;

function timeCursor(before: string | undefined): string | null {
  if (before === undefined) return null;
  if (!/^\d{1,17}$/.test(before)) throw new AppError('VALIDATION_FAILED', 'before must be a cursor from a previous answer');
  return before;
}
