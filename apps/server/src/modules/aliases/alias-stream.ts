/**
 * How a stream alias maps a time range onto its taps, and how the per-tap
 * answers join into one stream. Pure: the service does the reads.
 */
import type { Aggregate } from '../telemetry/telemetry.service.js';

export interface Tap {
  startsAt: number;
  /** null: the device was deleted; its time stays empty. */
  deviceId: string | null;
  key: string;
}

export interface Slice {
  deviceId: string;
  key: string;
  from: number;
  to: number;
  /** false: up to `to` excluded, where the next tap starts. */
  toInclusive: boolean;
}

/**
 * The parts of [from, to] (both included) that each tap covers, oldest first. A tap runs from its
 * start until the next tap's start (excluded); the last one runs on. Taps sorted by start.
 */
export function slicesOf(taps: readonly Tap[], from: number, to: number): Slice[] {
  const out: Slice[] = [];
  for (let i = 0; i < taps.length; i++) {
    const t = taps[i]!;
    const next = taps[i + 1];
    const start = Math.max(t.startsAt, from);
    const endsBefore = next !== undefined && next.startsAt <= to;
    const end = endsBefore ? next.startsAt : to;
    if (t.deviceId === null || start > end || (start === end && endsBefore)) continue;
    out.push({ deviceId: t.deviceId, key: t.key, from: start, to: end, toInclusive: !endsBefore });
  }
  return out;
}

export interface BucketPart {
  ts: string;
  value: unknown;
  /** Points behind the value (avg's weight); only read where a bucket has several parts. */
  count?: number;
}

/**
 * One bucket from the parts several taps gave it (a bucket that spans a tap change), in tap order.
 * sum and count add up, min and max compare, last takes the newest tap's value, and avg weighs
 * each part by its count of points.
 */
export function combineBucket(agg: Aggregate, parts: readonly BucketPart[]): unknown {
  const nums = parts.map((p) => p.value).filter((v): v is number => typeof v === 'number');
  switch (agg) {
    case 'sum':
    case 'count':
      return nums.length ? nums.reduce((a, b) => a + b, 0) : null;
    case 'min':
      return nums.length ? Math.min(...nums) : null;
    case 'max':
      return nums.length ? Math.max(...nums) : null;
    case 'last': {
      for (let i = parts.length - 1; i >= 0; i--) if (parts[i]!.value !== null) return parts[i]!.value;
      return null;
    }
    case 'avg': {
      let n = 0;
      let sum = 0;
      for (const p of parts) {
        if (typeof p.value !== 'number' || !p.count) continue;
        n += p.count;
        sum += p.value * p.count;
      }
      return n ? sum / n : null;
    }
  }
}
