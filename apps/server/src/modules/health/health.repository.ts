/**
 * SQL for fleet health. It owns the heartbeat rollups (migrations 024, 026:
 * heartbeat_hours, heartbeat_days with running totals, heartbeat_day_hists,
 * heartbeat_span, heartbeat_rollup_state) and the early warnings (025) and
 * reads two tables other modules own, in one statement each, as the fleet
 * overview does:
 * - `heartbeats` (written by ingest): the rollup job's and the early-warning scan's input; of the
 *   questions, only one device's gap chart reads it;
 * - `devices` (devices module): the org, project, template and tag scope, retired_at.
 */
import type { Database, Queryable } from '../../platform/db/database.js';

/**
 * Upper bounds (seconds) of the gap histogram's buckets, log-spaced: bucket 1 is
 * below 1 s, bucket k is [bound k-1, bound k), the last is a day or more.
 * Changing them means rebuilding the rollups.
 */
export const HEARTBEAT_GAP_BOUNDS = [
  1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 450, 600, 900, 1200, 1800, 2700, 3600, 7200, 14400, 43200, 86400,
] as const;
export const GAP_BUCKETS = HEARTBEAT_GAP_BOUNDS.length + 1;

/** Hours already rolled up are rebuilt this far back on every run; older late heartbeats are marked by the insert trigger (migration 024 says the same 3 hours). */
export const LATE_HEARTBEAT_HOURS = 3;

const ORIGIN = `TIMESTAMPTZ '2000-01-01 00:00:00+00'`;
const buckets = Array.from({ length: GAP_BUCKETS }, (_, i) => i + 1);
const HIST_OF_GAPS = `ARRAY[${buckets.map((b) => `count(*) FILTER (WHERE b = ${b})`).join(', ')}]::int[]`;
const HIST_SUM_OF_GAPS = `ARRAY[${buckets.map((b) => `coalesce(sum(gap) FILTER (WHERE b = ${b}), 0)`).join(', ')}]::float8[]`;
export const SUM_HIST = (alias: string) => `ARRAY[${buckets.map((b) => `coalesce(sum(${alias}.gap_hist[${b}]), 0)`).join(', ')}]::bigint[]`;
// Summed as float8: 2.4x faster than int4 → int8 sums (300k rows × 25: 130 ms against 310 ms).
const FLOAT_SUM_HIST = (alias: string) => `ARRAY[${buckets.map((b) => `coalesce(sum(${alias}.gap_hist[${b}]::float8), 0)`).join(', ')}]::float8[]`;
export const SUM_HIST_SUM = (alias: string) => `ARRAY[${buckets.map((b) => `coalesce(sum(${alias}.gap_hist_sum_s[${b}]), 0)`).join(', ')}]::float8[]`;
const BOUNDS = `'{${HEARTBEAT_GAP_BOUNDS.join(',')}}'::float8[]`;

/** Rebuilds heartbeat_hours for hours in [from, to) from raw heartbeats, then the days and spans they touch. */
async function rollUpHours(q: Queryable, from: Date, to: Date): Promise<void> {
  // A gap belongs to the hour of the heartbeat ending it; the first heartbeat in the
  // window is paired with the last one before it, read from the hour rows (one index probe).
  await q.query(
    `WITH hb AS (
       SELECT device_id, ts, lag(ts) OVER (PARTITION BY device_id ORDER BY ts) AS prev
       FROM heartbeats WHERE ts >= $1 AND ts < $2
     ), g AS (
       SELECT device_id, ts, date_bin('1 hour', ts, ${ORIGIN}) AS hour,
              extract(epoch FROM ts - coalesce(prev, (SELECT h.last_ts FROM heartbeat_hours h
                WHERE h.device_id = hb.device_id AND h.hour < $1 ORDER BY h.hour DESC LIMIT 1)))::float8 AS gap
       FROM hb
     -- Materialized: each row's gap and bucket once, not once per aggregate below (20x faster).
     ), x AS MATERIALIZED (SELECT g.*, width_bucket(gap, ${BOUNDS}) + 1 AS b FROM g)
     INSERT INTO heartbeat_hours AS t (device_id, hour, beats, gap_count, gap_sum_s, gap_max_s, gap_hist, gap_hist_sum_s, first_ts, last_ts)
     SELECT x.device_id, hour, count(*), count(gap), coalesce(sum(gap), 0), max(gap), ${HIST_OF_GAPS}, ${HIST_SUM_OF_GAPS}, min(ts), max(ts)
     FROM x JOIN devices d ON d.id = x.device_id GROUP BY x.device_id, hour
     ON CONFLICT (device_id, hour) DO UPDATE SET beats = excluded.beats, gap_count = excluded.gap_count, gap_sum_s = excluded.gap_sum_s,
       gap_max_s = excluded.gap_max_s, gap_hist = excluded.gap_hist, gap_hist_sum_s = excluded.gap_hist_sum_s,
       first_ts = excluded.first_ts, last_ts = excluded.last_ts`,
    [from, to],
  );
  const DAYS = `h.hour >= date_bin('1 day', $1::timestamptz, ${ORIGIN}) AND h.hour < date_bin('1 day', $2::timestamptz - interval '1 microsecond', ${ORIGIN}) + interval '1 day'`;
  await q.query(
    `WITH agg AS MATERIALIZED (
       SELECT h.device_id, date_bin('1 day', h.hour, ${ORIGIN}) AS day, sum(h.beats) AS beats, sum(h.gap_count) AS gap_count,
              sum(h.gap_sum_s) AS gap_sum_s, max(h.gap_max_s) AS gap_max_s, ${SUM_HIST('h')}::int[] AS gap_hist,
              ${SUM_HIST_SUM('h')} AS gap_hist_sum_s, min(h.first_ts) AS first_ts, max(h.last_ts) AS last_ts
       FROM heartbeat_hours h WHERE ${DAYS} GROUP BY 1, 2
     ), hists AS (
       INSERT INTO heartbeat_day_hists (device_id, day, gap_hist, gap_hist_sum_s) SELECT device_id, day, gap_hist, gap_hist_sum_s FROM agg
       ON CONFLICT (device_id, day) DO UPDATE SET gap_hist = excluded.gap_hist, gap_hist_sum_s = excluded.gap_hist_sum_s
     )
     INSERT INTO heartbeat_days (device_id, day, beats, gap_count, gap_sum_s, gap_max_s, first_ts, last_ts)
     SELECT device_id, day, beats, gap_count, gap_sum_s, gap_max_s, first_ts, last_ts FROM agg
     ON CONFLICT (device_id, day) DO UPDATE SET beats = excluded.beats, gap_count = excluded.gap_count, gap_sum_s = excluded.gap_sum_s,
       gap_max_s = excluded.gap_max_s, first_ts = excluded.first_ts, last_ts = excluded.last_ts`,
    [from, to],
  );
  // Running totals from the first day rebuilt on (later days too: a late backlog changes every day after it),
  // each device's continuing from its day row before.
  await q.query(
    `UPDATE heartbeat_days t SET cum_beats = x.cb, cum_gap_count = x.cc, cum_gap_sum_s = x.cs
     FROM (
       SELECT h.device_id, h.day, coalesce(b.cb, 0) + sum(h.beats) OVER w AS cb, coalesce(b.cc, 0) + sum(h.gap_count) OVER w AS cc,
              coalesce(b.cs, 0) + sum(h.gap_sum_s) OVER w AS cs
       FROM heartbeat_days h
       LEFT JOIN LATERAL (
         SELECT p.cum_beats AS cb, p.cum_gap_count AS cc, p.cum_gap_sum_s AS cs FROM heartbeat_days p
         WHERE p.device_id = h.device_id AND p.day < date_bin('1 day', $1::timestamptz, ${ORIGIN}) ORDER BY p.day DESC LIMIT 1
       ) b ON true
       WHERE h.day >= date_bin('1 day', $1::timestamptz, ${ORIGIN})
       WINDOW w AS (PARTITION BY h.device_id ORDER BY h.day)
     ) x
     WHERE t.device_id = x.device_id AND t.day = x.day AND (t.cum_beats, t.cum_gap_count, t.cum_gap_sum_s) IS DISTINCT FROM (x.cb, x.cc, x.cs)`,
    [from],
  );
  await q.query(
    `INSERT INTO heartbeat_span AS s (device_id, first_ts, last_ts)
     SELECT device_id, min(first_ts), max(last_ts) FROM heartbeat_hours WHERE hour >= $1 AND hour < $2 GROUP BY 1
     ON CONFLICT (device_id) DO UPDATE SET first_ts = least(s.first_ts, excluded.first_ts), last_ts = greatest(s.last_ts, excluded.last_ts)`,
    [from, to],
  );
}

const HOUR = 3_600_000;
const floorHour = (ms: number) => Math.floor(ms / HOUR) * HOUR;

/**
 * The rollup job's step: rebuilds the hours from the last run's current hour
 * (minus LATE_HEARTBEAT_HOURS, or from the oldest late heartbeat the insert
 * trigger marked) through now, hoursPerTransaction at a time, and records the
 * current hour's start as done. The first run starts at the oldest heartbeat
 * (one scan of the table, once). Returns how many hours it rebuilt.
 */
export async function rollUpHeartbeats(db: Database, now = new Date(), hoursPerTransaction = 24): Promise<number> {
  const [state] = await db.query<{ done: Date | null; late: Date | null; oldest: Date | null }>(
    `SELECT hours_done_until AS done, late_from AS late, CASE WHEN hours_done_until IS NULL THEN (SELECT min(ts) FROM heartbeats) END AS oldest FROM heartbeat_rollup_state`,
  );
  let start = state?.done ? state.done.getTime() - LATE_HEARTBEAT_HOURS * HOUR : state?.oldest ? floorHour(state.oldest.getTime()) : null;
  if (start !== null && state?.late) start = Math.min(start, floorHour(state.late.getTime()));
  const end = floorHour(now.getTime()) + HOUR;
  if (start === null || start >= end) return 0;
  for (let a = start; a < end; a += hoursPerTransaction * HOUR) {
    const b = Math.min(end, a + hoursPerTransaction * HOUR);
    await db.transaction(async (tx) => {
      await rollUpHours(tx, new Date(a), new Date(b));
      await tx.query('UPDATE heartbeat_rollup_state SET hours_done_until = $1', [new Date(Math.min(b, end - HOUR))]);
    });
  }
  // Late heartbeats marked after the read above stay marked for the next run.
  if (state?.late) await db.query('UPDATE heartbeat_rollup_state SET late_from = NULL WHERE late_from = $1', [state.late]);
  return (end - start) / HOUR;
}

/** Which devices a question covers: always one org; optionally one project, template and tag. */
export interface FleetSelection {
  orgId: string;
  projectId: string | null;
  templateId: string | null;
  tag: string | null;
}
// $1..$4 are always the selection.
const SCOPE = `d.org_id = $1 AND ($2::uuid IS NULL OR d.project_id = $2) AND ($3::uuid IS NULL OR d.template_id = $3) AND ($4::text IS NULL OR d.tags @> ARRAY[$4::text])`;
const sel = (s: FleetSelection) => [s.orgId, s.projectId, s.templateId, s.tag];

export interface SilentCountsRow {
  devices: number;
  retired: number;
  never_heard: number;
  monitored: number;
  silent: number;
}
export interface SilentDeviceRow {
  id: string;
  name: string;
  last_ts: Date;
}
export interface GapAggregateRow {
  gap_count: number;
  gap_sum_s: number;
  gap_max_s: number | null;
  beats: number;
  hist: (number | string)[];
  hist_sum: number[];
}
export interface DeviceHealthRow extends GapAggregateRow {
  id: string;
  name: string;
  first_ts: Date | null;
  last_ts: Date | null;
  retired_at: Date | null;
}
export interface SpanRow {
  id: string;
  first_ts: Date;
  last_ts: Date;
  retired_at: Date | null;
}

export class HealthRepository {
  constructor(private readonly db: Queryable) {}

  async silentCounts(s: FleetSelection, silentS: number): Promise<SilentCountsRow> {
    const [r] = await this.db.query<SilentCountsRow>(
      `SELECT count(*)::int AS devices,
              count(*) FILTER (WHERE d.retired_at IS NOT NULL)::int AS retired,
              count(*) FILTER (WHERE d.retired_at IS NULL AND s.device_id IS NULL)::int AS never_heard,
              count(s.device_id) FILTER (WHERE d.retired_at IS NULL)::int AS monitored,
              count(*) FILTER (WHERE d.retired_at IS NULL AND s.last_ts < now() - make_interval(secs => $5))::int AS silent
       FROM devices d LEFT JOIN heartbeat_span s ON s.device_id = d.id WHERE ${SCOPE}`,
      [...sel(s), silentS],
    );
    return r!;
  }

  /** Silent devices, most recently heard first. */
  async silentDevices(s: FleetSelection, silentS: number, limit: number, offset: number): Promise<SilentDeviceRow[]> {
    return this.db.query<SilentDeviceRow>(
      `SELECT d.id, d.name, s.last_ts FROM devices d JOIN heartbeat_span s ON s.device_id = d.id
       WHERE ${SCOPE} AND d.retired_at IS NULL AND s.last_ts < now() - make_interval(secs => $5)
       ORDER BY s.last_ts DESC, d.id LIMIT ${limit | 0} OFFSET ${offset | 0}`,
      [...sel(s), silentS],
    );
  }

  /**
   * At each UTC day start t in [from, to]: devices heard before t and not retired
   * by t, and how many of them had their last heartbeat before t more than
   * silentS earlier. The last heartbeat before t is the last_ts of the device's
   * latest day row before t's day.
   */
  async silentSeries(s: FleetSelection, silentS: number, from: Date, to: Date): Promise<{ t: Date; alive: number; silent: number }[]> {
    return this.db.query<{ t: Date; alive: number; silent: number }>(
      `WITH r AS (
         SELECT h.day, h.last_ts, d.retired_at, lead(h.day) OVER (PARTITION BY h.device_id ORDER BY h.day) AS next_day
         FROM heartbeat_days h JOIN devices d ON d.id = h.device_id WHERE ${SCOPE} AND h.day < $7
       ), c AS (
         -- A day row is its device's latest before each midnight from the next day to its next row's day.
         SELECT t, r.last_ts FROM r
         CROSS JOIN LATERAL generate_series(greatest(r.day + interval '1 day', $6), least(coalesce(r.next_day, $7), $7), interval '1 day') t
         WHERE r.retired_at IS NULL OR r.retired_at > t
       )
       SELECT s.t, count(c.t)::int AS alive, count(c.t) FILTER (WHERE c.last_ts < s.t - make_interval(secs => $5))::int AS silent
       FROM generate_series($6::timestamptz, $7::timestamptz, interval '1 day') s(t) LEFT JOIN c ON c.t = s.t
       GROUP BY s.t ORDER BY s.t`,
      [...sel(s), silentS, from, to],
    );
  }

  /**
   * The selection's gaps ending in the whole UTC days [from, to): counts and sums
   * from each device's running totals (two index probes per device, whatever the
   * range); the maximum and histogram only when asked (they read every device-day).
   */
  async fleetGaps(s: FleetSelection, from: Date, to: Date, histogram: boolean): Promise<GapAggregateRow> {
    const through = (bound: string) =>
      `LEFT JOIN LATERAL (SELECT cum_beats AS cb, cum_gap_count AS cc, cum_gap_sum_s AS cs FROM heartbeat_days h
         WHERE h.device_id = d.id AND h.day < ${bound} ORDER BY h.day DESC LIMIT 1)`;
    const [totals] = await this.db.query<Pick<GapAggregateRow, 'gap_count' | 'gap_sum_s' | 'beats'>>(
      `SELECT coalesce(sum(coalesce(b.cc, 0) - coalesce(a.cc, 0)), 0)::float8 AS gap_count,
              coalesce(sum(coalesce(b.cs, 0) - coalesce(a.cs, 0)), 0)::float8 AS gap_sum_s,
              coalesce(sum(coalesce(b.cb, 0) - coalesce(a.cb, 0)), 0)::float8 AS beats
       FROM devices d ${through('$6')} b ON true ${through('$5')} a ON true
       WHERE ${SCOPE}`,
      [...sel(s), from, to],
    );
    if (!histogram) return { ...totals!, gap_max_s: null, hist: [], hist_sum: [] };
    const [max] = await this.db.query<{ gap_max_s: number | null }>(
      `SELECT max(h.gap_max_s) AS gap_max_s FROM heartbeat_days h JOIN devices d ON d.id = h.device_id WHERE ${SCOPE} AND h.day >= $5 AND h.day < $6`,
      [...sel(s), from, to],
    );
    const [hist] = await this.db.query<{ hist: number[] }>(
      `SELECT ${FLOAT_SUM_HIST('h')} AS hist FROM heartbeat_day_hists h JOIN devices d ON d.id = h.device_id WHERE ${SCOPE} AND h.day >= $5 AND h.day < $6`,
      [...sel(s), from, to],
    );
    return { ...totals!, gap_max_s: max?.gap_max_s ?? null, hist: hist!.hist, hist_sum: [] };
  }

  /** Per device of the selection (by name, paged; or one device): its gaps in [from, to) and its span. */
  async deviceHealth(s: FleetSelection, from: Date, to: Date, page: { limit: number; offset: number; deviceId?: string }): Promise<DeviceHealthRow[]> {
    return this.db.query<DeviceHealthRow>(
      `WITH p AS (
         SELECT d.id, d.name, d.retired_at FROM devices d WHERE ${SCOPE} AND ($7::uuid IS NULL OR d.id = $7)
         ORDER BY d.name, d.id LIMIT ${page.limit | 0} OFFSET ${page.offset | 0}
       )
       SELECT p.id, p.name, p.retired_at, s.first_ts, s.last_ts, g.*, hh.*
       FROM p LEFT JOIN heartbeat_span s ON s.device_id = p.id
       CROSS JOIN LATERAL (
         SELECT coalesce(sum(h.gap_count), 0)::float8 AS gap_count, coalesce(sum(h.gap_sum_s), 0)::float8 AS gap_sum_s, max(h.gap_max_s) AS gap_max_s,
                coalesce(sum(h.beats), 0)::float8 AS beats
         FROM heartbeat_days h WHERE h.device_id = p.id AND h.day >= $5 AND h.day < $6
       ) g
       CROSS JOIN LATERAL (
         SELECT ${SUM_HIST('x')} AS hist, ${SUM_HIST_SUM('x')} AS hist_sum
         FROM heartbeat_day_hists x WHERE x.device_id = p.id AND x.day >= $5 AND x.day < $6
       ) hh
       ORDER BY p.name, p.id`,
      [...sel(s), from, to, page.deviceId ?? null],
    );
  }

  async countDevices(s: FleetSelection): Promise<number> {
    const [r] = await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM devices d WHERE ${SCOPE}`, sel(s));
    return r?.n ?? 0;
  }

  /** The selection's devices the last scan flagged with at least minScore, highest score first. */
  async atRisk(s: FleetSelection, minScore: number, limit: number, offset: number): Promise<{ items: AtRiskRow[]; total: number }> {
    const items = await this.db.query<AtRiskRow>(
      `SELECT w.device_id, w.score, w.reasons, w.since, w.first_warned_at, w.assessed_at, d.name, d.project_id, d.template_id, s.last_ts
       FROM health_warnings w JOIN devices d ON d.id = w.device_id LEFT JOIN heartbeat_span s ON s.device_id = w.device_id
       WHERE ${SCOPE} AND d.retired_at IS NULL AND w.score >= $5
       ORDER BY w.score DESC, d.name, d.id LIMIT ${limit | 0} OFFSET ${offset | 0}`,
      [...sel(s), minScore],
    );
    const [c] = await this.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM health_warnings w JOIN devices d ON d.id = w.device_id WHERE ${SCOPE} AND d.retired_at IS NULL AND w.score >= $5`,
      [...sel(s), minScore],
    );
    return { items, total: c?.n ?? 0 };
  }

  async scanState(): Promise<ScanStateRow> {
    const [r] = await this.db.query<ScanStateRow>('SELECT scanned_at, assessed, warned, duration_ms FROM health_scan_state');
    return r ?? { scanned_at: null, assessed: 0, warned: 0, duration_ms: 0 };
  }

  /**
   * One device's heartbeats in [from, to), the newest limit + 1 (each gap needs the beat before it), oldest
   * first; when the range holds fewer, the last one before `from` too, so that its first gap counts.
   */
  async deviceBeats(deviceId: string, from: Date, to: Date, limit: number): Promise<Date[]> {
    const rows = await this.db.query<{ ts: Date }>(
      `SELECT ts FROM heartbeats WHERE device_id = $1 AND ts >= $2 AND ts < $3 ORDER BY ts DESC LIMIT ${(limit | 0) + 1}`,
      [deviceId, from, to],
    );
    if (rows.length <= limit) {
      const before = await this.db.query<{ ts: Date }>(`SELECT ts FROM heartbeats WHERE device_id = $1 AND ts < $2 ORDER BY ts DESC LIMIT 1`, [deviceId, from]);
      rows.push(...before);
    }
    return rows.map((r) => r.ts).reverse();
  }

  /** First and last heartbeat of every device of the selection ever heard (optionally first heard in [from, to)). */
  async spans(s: FleetSelection, from: Date | null, to: Date | null): Promise<SpanRow[]> {
    return this.db.query<SpanRow>(
      `SELECT d.id, s.first_ts, s.last_ts, d.retired_at FROM devices d JOIN heartbeat_span s ON s.device_id = d.id
       WHERE ${SCOPE} AND ($5::timestamptz IS NULL OR s.first_ts >= $5) AND ($6::timestamptz IS NULL OR s.first_ts < $6)`,
      [...sel(s), from, to],
    );
  }
}

export interface RecentBeatsRow {
  id: string;
  /** The device's newest heartbeats, oldest first, in ms since the epoch (null: none left). */
  beats: number[] | null;
}
export interface WarningRow {
  device_id: string;
  score: number;
  reasons: string[];
  since: Date;
}
export interface AtRiskRow extends WarningRow {
  name: string;
  project_id: string | null;
  template_id: string | null;
  first_warned_at: Date;
  assessed_at: Date;
  last_ts: Date | null;
}
export interface ScanStateRow {
  scanned_at: Date | null;
  assessed: number;
  warned: number;
  duration_ms: number;
}

/**
 * Reads for the early-warning scan, over every org: the scan is the worker's,
 * and each device is judged against its own history only.
 */
export class HealthScanRepository {
  constructor(private readonly db: Queryable) {}

  /**
   * The newest `perDevice` heartbeats of each device (not retired, ever heard)
   * after `afterId` in id order, `limit` devices. Each device's look-back is
   * 1.2 × perDevice × its mean gap of its last two days of rollups (an hour to
   * 14 days), so the index scan stays within a few partitions.
   */
  async recentBeats(afterId: string | null, limit: number, perDevice: number): Promise<RecentBeatsRow[]> {
    return this.db.query<RecentBeatsRow>(
      `WITH d AS (
         SELECT d.id, s.last_ts FROM devices d JOIN heartbeat_span s ON s.device_id = d.id
         WHERE d.retired_at IS NULL AND ($1::uuid IS NULL OR d.id > $1) ORDER BY d.id LIMIT $2
       )
       SELECT d.id, b.beats
       FROM d
       CROSS JOIN LATERAL (
         SELECT sum(x.gap_sum_s) / nullif(sum(x.gap_count), 0) AS mean_gap_s
         FROM (SELECT gap_sum_s, gap_count FROM heartbeat_days h WHERE h.device_id = d.id ORDER BY h.day DESC LIMIT 2) x
       ) g
       CROSS JOIN LATERAL (
         SELECT array_agg(y.ms ORDER BY y.ms) AS beats FROM (
           SELECT date_part('epoch', h.ts) * 1000 AS ms FROM heartbeats h
           WHERE h.device_id = d.id
             AND h.ts >= d.last_ts - make_interval(secs => least(14 * 86400, greatest(3600, 1.2 * $3 * coalesce(g.mean_gap_s, 600))))
           ORDER BY h.ts DESC LIMIT $3
         ) y
       ) b
       ORDER BY d.id`,
      [afterId, limit, perDevice],
    );
  }

  /** Heartbeats after `after` (ms since the epoch), of devices not retired, by device then time. */
  async beatsSince(after: number): Promise<{ device_id: string; ms: number }[]> {
    return this.db.query<{ device_id: string; ms: number }>(
      `SELECT h.device_id, date_part('epoch', h.ts) * 1000 AS ms FROM heartbeats h JOIN devices d ON d.id = h.device_id
       WHERE h.ts > $1 AND d.retired_at IS NULL ORDER BY h.device_id, h.ts`,
      [new Date(after)],
    );
  }

  /** Replaces the warnings with this scan's: a device warned before keeps first_warned_at; one not warned now loses its row. */
  async saveWarnings(warnings: readonly WarningRow[], at: Date, stats: { assessed: number; durationMs: number }): Promise<void> {
    await this.db.query(
      `WITH w AS (
         SELECT * FROM unnest($1::uuid[], $2::float8[], $3::text[], $4::timestamptz[]) AS w(device_id, score, reasons_json, since)
       ), up AS (
         INSERT INTO health_warnings AS t (device_id, score, reasons, since, first_warned_at, assessed_at)
         SELECT w.device_id, w.score, ARRAY(SELECT jsonb_array_elements_text(w.reasons_json::jsonb)), w.since, $5, $5
         FROM w JOIN devices d ON d.id = w.device_id AND d.retired_at IS NULL
         ON CONFLICT (device_id) DO UPDATE SET score = excluded.score, reasons = excluded.reasons, since = excluded.since, assessed_at = excluded.assessed_at
         RETURNING 1
       ), gone AS (
         DELETE FROM health_warnings h WHERE NOT EXISTS (SELECT 1 FROM w WHERE w.device_id = h.device_id) RETURNING 1
       )
       UPDATE health_scan_state SET scanned_at = $5, assessed = $6, warned = (SELECT count(*) FROM up), duration_ms = $7`,
      [
        warnings.map((w) => w.device_id),
        warnings.map((w) => w.score),
        warnings.map((w) => JSON.stringify(w.reasons)),
        warnings.map((w) => w.since),
        at,
        stats.assessed,
        Math.round(stats.durationMs),
      ],
    );
  }
}
