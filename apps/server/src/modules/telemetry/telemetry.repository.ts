/**
 * SQL for reading stored device data. The ingest module writes these tables
 * (telemetry, telemetry_latest, telemetry_1m, telemetry_1h, rollup_state,
 * locations, heartbeats, device_attributes, messages); this module only reads them.
 *
 * Foreign table read here: `devices` (devices module), joined in `latest()` so
 * that the org check and the values take one round trip; dashboards poll it.
 */
import type { Queryable } from '../../platform/db/database.js';
import type { Aggregate } from './telemetry.service.js';
import type { DeviceMessage } from './telemetry.schemas.js';

export interface ValueRow {
  key: string;
  ts: Date;
  num: number | null;
  str: string | null;
  bool: boolean | null;
  json: unknown;
}

/** The time ranges of a rollup read (see rollupPlan in the service). */
export interface RollupRanges {
  m0: number;
  h0: number;
  h1: number;
  m1: number;
}

export interface LocationRow {
  ts: Date;
  us: string;
  lat: number;
  lon: number;
  alt: number | null;
  speed: number | null;
  heading: number | null;
  accuracy: number | null;
}

export interface HeartbeatRow {
  ts: Date;
  us: string;
  uptime: number | null;
  battery: number | null;
  rssi: number | null;
  data: Record<string, unknown> | null;
}

export interface MessageRow {
  received_at: Date;
  us: string;
  seq: string;
  channel: DeviceMessage['channel'];
  transport: DeviceMessage['transport'];
  payload: unknown;
}

const ORIGIN = "TIMESTAMPTZ '2000-01-01 00:00:00+00'";

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
 * A bucket's start as epoch milliseconds. Buckets are whole seconds from a
 * whole-second origin, so the float8 is exact, and the server formats it
 * without parsing a timestamp's text into a Date first.
 */
const BUCKET_MS = (secs: string, ts: string) => `date_part('epoch', date_bin(make_interval(secs => ${secs}), ${ts}, ${ORIGIN})) * 1000`;

/**
 * One branch per range, so each is a plain index range scan. Raw rows enter
 * as one-point partial aggregates. $1 device, $2 keys, $3 from, $4 m0, $5 h0,
 * $6 h1, $7 m1, $8 to (inclusive as the raw query, or exclusive), $9 bucket seconds.
 * Hour rows are complete only before hours_done_until (migration 011): the
 * hours from it on come from the minute rows.
 */
const ROLLUP_HISTORY_SQL = (combine: string, toOp: '<' | '<=') => `
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
  FROM telemetry WHERE device_id = $1 AND key = ANY($2::text[]) AND ts >= $7 AND ts ${toOp} $8
)
SELECT key, ${BUCKET_MS('$9', 't')} AS ms, ${combine} AS value
FROM parts GROUP BY key, ms ORDER BY key, ms`;

/** A time as whole microseconds since the epoch, exactly (PostgreSQL keeps microseconds). */
const US_OF = (col: string) => `(extract(epoch FROM ${col}) * 1000000)::int8::text`;
/** The time of such a microsecond cursor, exactly (no float seconds on the way). */
const AT_US = (param: string) => `(timestamptz 'epoch' + ${param}::int8 * interval '1 microsecond')`;

export class TelemetryRepository {
  constructor(private readonly db: Queryable) {}

  /** The device's latest values, or no row when the device is not in the org; a device without values gives one row with key null. */
  async latest(orgId: string, deviceId: string): Promise<(ValueRow | { key: null })[]> {
    return this.db.query<ValueRow | { key: null }>(
      `SELECT l.key, l.ts, l.num, l.str, l.bool, l.json FROM devices d LEFT JOIN telemetry_latest l ON l.device_id = d.id
       WHERE d.org_id = $1 AND d.id = $2 ORDER BY l.key`,
      [orgId, deviceId],
    );
  }

  /** Keys any device of the org (optionally of one project, template or device) has reported. */
  async reportedKeys(orgId: string, f: { projectId?: string; templateId?: string; deviceId?: string }): Promise<string[]> {
    const rows = await this.db.query<{ key: string }>(
      `SELECT DISTINCT l.key FROM telemetry_latest l JOIN devices d ON d.id = l.device_id
       WHERE d.org_id = $1 AND ($2::uuid IS NULL OR d.project_id = $2) AND ($3::uuid IS NULL OR d.template_id = $3) AND ($4::uuid IS NULL OR d.id = $4)`,
      [orgId, f.projectId ?? null, f.templateId ?? null, f.deviceId ?? null],
    );
    return rows.map((r) => r.key);
  }

  async keys(deviceId: string): Promise<string[]> {
    return (await this.db.query<{ key: string }>('SELECT key FROM telemetry_latest WHERE device_id = $1 ORDER BY key', [deviceId])).map((r) => r.key);
  }

  /** Up to limit + 1 newest points per key before the microsecond cursor `before`, oldest first within each key. */
  async rawPoints(
    deviceId: string,
    keys: string[],
    from: Date,
    to: Date,
    limit: number,
    before: string | null,
    toExclusive = false,
  ): Promise<(ValueRow & { us: string })[]> {
    return this.db.query<ValueRow & { us: string }>(
      `SELECT k.key, t.ts, (extract(epoch FROM t.ts) * 1000000)::int8::text AS us, t.num, t.str, t.bool, t.json FROM unnest($2::text[]) AS k(key)
         CROSS JOIN LATERAL (SELECT ts, num, str, bool, json FROM telemetry
           WHERE device_id = $1 AND key = k.key AND ts >= $3 AND ts ${toExclusive ? '<' : '<='} $4 AND ($6::int8 IS NULL OR ts < to_timestamp($6::int8::float8 / 1000000))
           ORDER BY ts DESC LIMIT $5 + 1) t
         ORDER BY k.key, t.ts`,
      [deviceId, keys, from, to, limit, before],
    );
  }

  /** Buckets of `secs` seconds combined from raw points and rollup rows over the ranges of `plan`. */
  async rollupBuckets(
    deviceId: string,
    keys: string[],
    agg: Exclude<Aggregate, 'last'>,
    from: Date,
    to: Date,
    secs: number,
    plan: RollupRanges,
    toExclusive = false,
  ): Promise<{ key: string; ms: number; value: number | null }[]> {
    return this.db.query<{ key: string; ms: number; value: number | null }>(ROLLUP_HISTORY_SQL(ROLLUP_COMBINE[agg], toExclusive ? '<' : '<='), [
      deviceId,
      keys,
      from,
      new Date(plan.m0),
      new Date(plan.h0),
      new Date(plan.h1),
      new Date(plan.m1),
      to,
      secs,
    ]);
  }

  /** Buckets of `secs` seconds aggregated from raw points only. */
  async rawBuckets(
    deviceId: string,
    keys: string[],
    agg: Aggregate,
    from: Date,
    to: Date,
    secs: number,
    toExclusive = false,
  ): Promise<{ key: string; ms: number; value: number | string | null }[]> {
    return this.db.query<{ key: string; ms: number; value: number | string | null }>(
      `SELECT key, ${BUCKET_MS('$5', 'ts')} AS ms, ${RAW_AGGREGATE[agg]} AS value
           FROM telemetry WHERE device_id = $1 AND key = ANY($2::text[]) AND ts >= $3 AND ts ${toExclusive ? '<' : '<='} $4
           GROUP BY key, ms ORDER BY key, ms`,
      [deviceId, keys, from, to, secs],
    );
  }

  /**
   * Up to limit + 1 locations, newest first. With bucketSecs, the last location of each bucket
   * (date_bin from the rollups' origin), and `us` is the bucket's start: the cursor of the next page.
   */
  async locations(deviceId: string, from: Date, to: Date, limit: number, before: string | null, bucketSecs: number | null = null): Promise<LocationRow[]> {
    if (bucketSecs === null) {
      return this.db.query<LocationRow>(
        `SELECT ts, ${US_OF('ts')} AS us, lat, lon, alt, speed, heading, accuracy FROM locations
         WHERE device_id = $1 AND ts >= $2 AND ts <= $3 AND ($5::int8 IS NULL OR ts < ${AT_US('$5')})
         ORDER BY ts DESC LIMIT $4 + 1`,
        [deviceId, from, to, limit, before],
      );
    }
    // One index range scan in time order; DISTINCT ON keeps each bucket's newest row.
    return this.db.query<LocationRow>(
      `SELECT ts, ${US_OF('b')} AS us, lat, lon, alt, speed, heading, accuracy FROM (
         SELECT DISTINCT ON (b) date_bin(make_interval(secs => $6), ts, ${ORIGIN}) AS b, ts, lat, lon, alt, speed, heading, accuracy FROM locations
         WHERE device_id = $1 AND ts >= $2 AND ts <= $3 AND ($5::int8 IS NULL OR ts < ${AT_US('$5')})
         ORDER BY b DESC, ts DESC
       ) t ORDER BY b DESC LIMIT $4 + 1`,
      [deviceId, from, to, limit, before, bucketSecs],
    );
  }

  async attributes(deviceId: string): Promise<{ key: string; value: unknown; updated_at: Date }[]> {
    return this.db.query<{ key: string; value: unknown; updated_at: Date }>(
      'SELECT key, value, updated_at FROM device_attributes WHERE device_id = $1 ORDER BY key',
      [deviceId],
    );
  }

  /** Up to limit + 1 heartbeats, newest first. */
  async heartbeats(deviceId: string, from: Date, to: Date, limit: number, before: string | null): Promise<HeartbeatRow[]> {
    return this.db.query<HeartbeatRow>(
      `SELECT ts, ${US_OF('ts')} AS us, uptime, battery, rssi, data FROM heartbeats
       WHERE device_id = $1 AND ts >= $2 AND ts <= $3 AND ($5::int8 IS NULL OR ts < ${AT_US('$5')})
       ORDER BY ts DESC LIMIT $4 + 1`,
      [deviceId, from, to, limit, before],
    );
  }

  /** Up to limit heartbeats in [from, to], oldest first, after the microsecond cursor (CSV export pages). */
  async heartbeatsAfter(deviceId: string, from: Date, to: Date, limit: number, afterUs: string | null): Promise<HeartbeatRow[]> {
    return this.db.query<HeartbeatRow>(
      `SELECT ts, ${US_OF('ts')} AS us, uptime, battery, rssi, data FROM heartbeats
       WHERE device_id = $1 AND ts >= $2 AND ts <= $3 AND ($5::int8 IS NULL OR ts > ${AT_US('$5')})
       ORDER BY ts LIMIT $4`,
      [deviceId, from, to, limit, afterUs],
    );
  }

  /** Up to limit points of one key in [from, to], oldest first, after the microsecond cursor (CSV export pages; the primary key's order). */
  async pointsAfter(deviceId: string, key: string, from: Date, to: Date, limit: number, afterUs: string | null): Promise<(ValueRow & { us: string })[]> {
    return this.db.query<ValueRow & { us: string }>(
      `SELECT key, ts, ${US_OF('ts')} AS us, num, str, bool, json FROM telemetry
       WHERE device_id = $1 AND key = $2 AND ts >= $3 AND ts <= $4 AND ($6::int8 IS NULL OR ts > ${AT_US('$6')})
       ORDER BY ts LIMIT $5`,
      [deviceId, key, from, to, limit, afterUs],
    );
  }

  /** Up to limit + 1 raw messages, newest first, before the cursor (receive time in microseconds, sequence). */
  async messages(
    deviceId: string,
    q: { from: Date; to: Date; channel: string | null; limit: number; beforeUs: string | null; beforeSeq: string | null },
  ): Promise<MessageRow[]> {
    return this.db.query<MessageRow>(
      `SELECT received_at, ${US_OF('received_at')} AS us, seq::text AS seq, channel, transport, payload FROM messages
       WHERE device_id = $1 AND received_at >= $2 AND received_at <= $3 AND ($4::text IS NULL OR channel = $4)
         AND ($6::int8 IS NULL OR (received_at, seq) < (${AT_US('$6')}, $7::int8))
       ORDER BY received_at DESC, seq DESC LIMIT $5 + 1`,
      [deviceId, q.from, q.to, q.channel, q.limit, q.beforeUs, q.beforeSeq],
    );
  }
}
