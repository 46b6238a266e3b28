/**
 * Telemetry time ranges: the presets of the range picker and how each is
 * queried. Short ranges read raw points; longer ones ask the API to aggregate
 * (average per bucket), so a week of 1 Hz data arrives as a few hundred points.
 */
import type { QueryOf } from '@tether/api-client';

export type TelemetryQuery = QueryOf<'/api/v1/devices/{id}/telemetry', 'get'> & { from: string };

export type RangePreset = '15m' | '1h' | '24h' | '7d';
export type RangeSelection = { kind: 'preset'; preset: RangePreset } | { kind: 'custom'; from: number; to: number };

export const RANGE_PRESETS: { id: RangePreset; label: string; ms: number }[] = [
  { id: '15m', label: '15 min', ms: 15 * 60_000 },
  { id: '1h', label: '1 h', ms: 3_600_000 },
  { id: '24h', label: '24 h', ms: 86_400_000 },
  { id: '7d', label: '7 d', ms: 7 * 86_400_000 },
];

/** Up to one hour is charted raw; beyond that, buckets keep a chart to a few hundred points. */
const RAW_MAX_MS = 3_600_000;
const MAX_BUCKETS = 500;
const BUCKET_SECONDS = [60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86_400];

/** Bucket width in seconds for a range, or null to read raw points. */
export function bucketSeconds(rangeMs: number): number | null {
  if (rangeMs <= RAW_MAX_MS) return null;
  for (const s of BUCKET_SECONDS) if (rangeMs / (s * 1000) <= MAX_BUCKETS) return s;
  return BUCKET_SECONDS[BUCKET_SECONDS.length - 1]!;
}

/** "5m", "30m", "1h", "1d": the API's interval syntax. */
export function intervalParam(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

export interface ResolvedRange {
  from: number;
  to: number;
  /** Bucket width in seconds; null for raw points. */
  bucket: number | null;
  /** A preset follows the clock: new points are appended and the window slides. */
  live: boolean;
}

export function resolveRange(sel: RangeSelection, now = Date.now()): ResolvedRange {
  if (sel.kind === 'custom') {
    const from = Math.min(sel.from, sel.to);
    const to = Math.max(sel.from, sel.to);
    return { from, to, bucket: bucketSeconds(to - from), live: false };
  }
  const ms = RANGE_PRESETS.find((p) => p.id === sel.preset)!.ms;
  return { from: now - ms, to: now, bucket: bucketSeconds(ms), live: true };
}

/** The query string for GET /devices/{id}/telemetry. */
export function telemetryQuery(r: ResolvedRange): TelemetryQuery {
  const q: TelemetryQuery = { from: new Date(r.from).toISOString() };
  if (!r.live) q.to = new Date(r.to).toISOString();
  if (r.bucket === null) q.limit = 100_000;
  else {
    q.interval = intervalParam(r.bucket);
    q.agg = 'avg';
  }
  return q;
}

export function describeRange(r: ResolvedRange): string {
  return r.bucket === null ? 'raw points' : `average per ${intervalParam(r.bucket)}`;
}
