/** Pure statistics for fleet health: quantiles from the gap histogram, uptime, Kaplan–Meier. */
import { HEARTBEAT_GAP_BOUNDS } from './health.repository.js';

/**
 * The q-quantile of gaps counted in HEARTBEAT_GAP_BOUNDS buckets: the bucket
 * holding the rank, interpolated inside it geometrically (linearly in the first
 * bucket, [0, 1 s)); the open last bucket ends at the largest gap seen. An
 * estimate: exact only to the bucket.
 */
export function histogramQuantile(hist: readonly number[], q: number, maxS: number | null): number | null {
  const total = hist.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    const n = hist[i]!;
    if (n === 0 || seen + n < rank) {
      seen += n;
      continue;
    }
    const lo = i === 0 ? 0 : HEARTBEAT_GAP_BOUNDS[i - 1]!;
    const hi = i < HEARTBEAT_GAP_BOUNDS.length ? HEARTBEAT_GAP_BOUNDS[i]! : Math.max(lo, maxS ?? lo);
    const f = Math.min(1, Math.max(0, (rank - seen) / n));
    const v = lo === 0 ? hi * f : lo * Math.pow(hi / lo, f);
    return maxS === null ? v : Math.min(v, maxS);
  }
  return maxS;
}

/** The histogram's buckets as [fromS, toS) with their counts (toS null: open). */
export function histogramBuckets(hist: readonly number[]): { fromS: number; toS: number | null; count: number }[] {
  return hist.map((count, i) => ({ fromS: i === 0 ? 0 : HEARTBEAT_GAP_BOUNDS[i - 1]!, toS: HEARTBEAT_GAP_BOUNDS[i] ?? null, count }));
}

/**
 * The threshold actually applied for uptime: the smallest bucket bound at or
 * above the one asked for (the rollups know gap sums per bucket only).
 */
export function snapThreshold(thresholdS: number): number {
  return HEARTBEAT_GAP_BOUNDS.find((b) => b >= thresholdS) ?? HEARTBEAT_GAP_BOUNDS[HEARTBEAT_GAP_BOUNDS.length - 1]!;
}

/**
 * Seconds of downtime: the part beyond thresholdS (a bucket bound) of every gap
 * of at least thresholdS, plus that of the open gap from the last heartbeat to the end.
 */
export function downtimeS(hist: readonly number[], histSum: readonly number[], thresholdS: number, openGapS: number): number {
  let down = 0;
  for (let i = 1; i < hist.length; i++) {
    if (HEARTBEAT_GAP_BOUNDS[i - 1]! >= thresholdS) down += histSum[i]! - hist[i]! * thresholdS;
  }
  if (openGapS > thresholdS) down += openGapS - thresholdS;
  return Math.max(0, down);
}

export interface Lifespan {
  days: number;
  /** true: the lifespan ended (retired, or silent past the threshold); false: still alive, censored. */
  ended: boolean;
}

export interface SurvivalPoint {
  days: number;
  survival: number;
  atRisk: number;
  ended: number;
  censored: number;
}

/**
 * Kaplan–Meier: at each distinct time with ended lifespans, S ← S·(1 − ended/atRisk);
 * censored lifespans leave the risk set after their time (ties: ends first).
 * The curve starts at (0, 1).
 */
export function kaplanMeier(lives: readonly Lifespan[]): SurvivalPoint[] {
  const byTime = new Map<number, { ended: number; censored: number }>();
  for (const l of lives) {
    const e = byTime.get(l.days) ?? { ended: 0, censored: 0 };
    if (l.ended) e.ended++;
    else e.censored++;
    byTime.set(l.days, e);
  }
  const points: SurvivalPoint[] = [{ days: 0, survival: 1, atRisk: lives.length, ended: 0, censored: 0 }];
  let atRisk = lives.length;
  let s = 1;
  for (const [days, e] of [...byTime].sort((a, b) => a[0] - b[0])) {
    if (e.ended > 0) {
      s *= 1 - e.ended / atRisk;
      points.push({ days, survival: s, atRisk, ended: e.ended, censored: e.censored });
    }
    atRisk -= e.ended + e.censored;
  }
  return points;
}

/** The first time the curve is at or below one half, or null if it never is. */
export function medianSurvival(points: readonly SurvivalPoint[]): number | null {
  return points.find((p) => p.survival <= 0.5)?.days ?? null;
}
