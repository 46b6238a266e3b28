/**
 * How a device's track is read for a time range: up to an hour every fix; longer
 * ranges one fix per bucket (the API's `interval`), so a month at one fix a second
 * still draws as at most MAX_TRACK points.
 */
import type { QueryOf } from '@tether/api-client';
import { intervalParam, type ResolvedRange } from '../../lib/telemetry-range';

export const MAX_TRACK = 2000;
const RAW_MAX_MS = 3_600_000;
const BUCKET_SECONDS = [10, 30, 60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86_400];

/** Bucket width in seconds for a track over `rangeMs`, or null for every fix. */
export function trackBucket(rangeMs: number): number | null {
  if (rangeMs <= RAW_MAX_MS) return null;
  for (const s of BUCKET_SECONDS) if (rangeMs / (s * 1000) <= MAX_TRACK) return s;
  return BUCKET_SECONDS[BUCKET_SECONDS.length - 1]!;
}

export function trackQuery(r: ResolvedRange): QueryOf<'/api/v1/devices/{id}/locations', 'get'> {
  const bucket = trackBucket(r.to - r.from);
  return {
    from: new Date(r.from).toISOString(),
    ...(r.live ? {} : { to: new Date(r.to).toISOString() }),
    limit: MAX_TRACK,
    ...(bucket === null ? {} : { interval: intervalParam(bucket) }),
  };
}
