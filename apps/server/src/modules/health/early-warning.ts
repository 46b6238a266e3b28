/**
 * Early warning of failing devices from their heartbeat gaps alone: a pure
 * function over one device's recent gaps, no database, no clock of its own.
 *
 * A device is judged against its own baseline: `expectedIntervalS` when its
 * configuration says how often it reports, otherwise the median of its older
 * gaps (all but the last `recentGaps`). Four signals, each mapped to 0..1 by a
 * ramp between a "normal" and a "clearly wrong" value:
 *
 * - level: an EWMA of log(gap / baseline) over the recent gaps, as a ratio;
 *   logs keep one long gap (a single missed beat) from dominating it;
 * - trend: a Theil–Sen slope over block medians of log(gap / baseline) across
 *   the whole series (robust to outliers, O(n): the blocks are few), as the
 *   growth factor it predicts across the series' time span;
 * - missed beats: the share of recent gaps longer than `lateFactor` × baseline;
 * - the open gap: the time since the last heartbeat, against the baseline.
 *
 * They combine as a weighted noisy-or, score = 1 − Π(1 − wᵢ·sᵢ), with every
 * weight below the threshold: one signal alone never flags a device, two
 * strong ones do. That is what keeps noisy-but-healthy sensors (jitter around
 * a stable mean, a missed beat now and then) out. Time and memory are O(n) in
 * the number of gaps.
 */

/** One device's recent heartbeat gaps, oldest first: seconds between consecutive heartbeats, and the time of each heartbeat ending a gap (ms). */
export interface GapSeries {
  deviceId: string;
  gapsS: number[];
  atMs: number[];
  nowMs: number;
  expectedIntervalS: number | null;
}

export interface Warning {
  deviceId: string;
  /** 0..1; a warning is returned only at or above the threshold. */
  score: number;
  /** Human-readable, strongest first, e.g. "gaps grew from 60 s to 310 s over 6 h (EWMA 4.8× baseline)". */
  reasons: string[];
  /** ms: when it first crossed, as far as the series shows (the start of the current run of long gaps). */
  since: number;
}

export interface EarlyWarningOptions {
  /** Gaps at the end of the series scored against the baseline (default 30). */
  recentGaps: number;
  /** Older gaps needed for a baseline of the device's own when expectedIntervalS is null (default 20). */
  minBaselineGaps: number;
  /** Weight of the newest gap in the EWMA (default 0.15). */
  ewmaAlpha: number;
  /** A gap longer than this × baseline counts as a missed (late) beat (default 1.5). */
  lateFactor: number;
  /** Blocks the series is cut into for the trend (default 6). */
  trendBlocks: number;
  /** Score at which a device is flagged (default 0.5). */
  threshold: number;
}

export const EARLY_WARNING_DEFAULTS: Readonly<EarlyWarningOptions> = Object.freeze({
  recentGaps: 30,
  minBaselineGaps: 20,
  ewmaAlpha: 0.15,
  lateFactor: 1.5,
  trendBlocks: 6,
  threshold: 0.5,
});

/** Each signal's ramp (normal → clearly wrong) and weight in the noisy-or. */
const LEVEL = { from: 1.4, to: 2.5, weight: 0.45 };
const TREND = { from: 1.3, to: 2.5, weight: 0.4 };
const MISSED = { from: 0.15, to: 0.5, weight: 0.4 };
const OPEN = { from: 2.5, to: 8, weight: 0.45 };

/** The device's warning, or null when it looks healthy (or there is too little history to judge). */
export function assessDevice(s: GapSeries, opts: Partial<EarlyWarningOptions> = {}): Warning | null {
  const o = { ...EARLY_WARNING_DEFAULTS, ...opts };
  const n = Math.min(s.gapsS.length, s.atMs.length);
  if (n === 0) return null;
  const recentStart = Math.max(0, n - o.recentGaps);
  let baselineS: number;
  if (s.expectedIntervalS !== null && s.expectedIntervalS > 0) baselineS = s.expectedIntervalS;
  else if (recentStart >= o.minBaselineGaps) baselineS = median(s.gapsS, 0, recentStart);
  else return null;
  if (!(baselineS > 0)) return null;

  // Level and missed beats over the recent gaps; `runStart` is where the EWMA last rose above normal.
  let ewma = 0;
  let late = 0;
  let firstLateAt: number | null = null;
  let runStart: number | null = null;
  const lateS = o.lateFactor * baselineS;
  const levelFrom = Math.log(LEVEL.from);
  for (let i = recentStart; i < n; i++) {
    const g = s.gapsS[i]!;
    ewma = o.ewmaAlpha * Math.log(Math.max(g, 1e-3) / baselineS) + (1 - o.ewmaAlpha) * ewma;
    if (g > lateS) {
      late += 1;
      firstLateAt ??= s.atMs[i]! - g * 1000;
    }
    if (ewma >= levelFrom) runStart ??= s.atMs[i]! - g * 1000;
    else runStart = null;
  }
  const recent = n - recentStart;
  const ewmaRatio = Math.exp(ewma);
  const missedShare = late / recent;
  const lastAt = s.atMs[n - 1]!;
  const openS = Math.max(0, (s.nowMs - lastAt) / 1000);
  const openRatio = openS / baselineS;
  const trend = trendOf(s, n, baselineS, o.trendBlocks);

  const signals = [
    { score: ramp(ewmaRatio, LEVEL), weight: LEVEL.weight, reason: levelReason(trend, ewmaRatio, baselineS) },
    { score: trend ? ramp(trend.growth, TREND) : 0, weight: TREND.weight, reason: trend ? trendReason(trend, baselineS, ewmaRatio) : '' },
    {
      score: ramp(missedShare, MISSED),
      weight: MISSED.weight,
      reason: `${late} of the last ${recent} heartbeats late (over ${o.lateFactor}× the usual ${duration(baselineS)})`,
    },
    { score: ramp(openRatio, OPEN), weight: OPEN.weight, reason: `silent for ${duration(openS)} (${openRatio.toFixed(1)}× the usual ${duration(baselineS)})` },
  ];
  let healthy = 1;
  for (const x of signals) healthy *= 1 - x.weight * x.score;
  const score = 1 - healthy;
  if (score < o.threshold) return null;

  // The level and trend say the same thing: one sentence for both.
  const active = signals.filter((x) => x.score > 0 && x.reason !== '');
  const reasons = [...new Set(active.sort((a, b) => b.weight * b.score - a.weight * a.score).map((x) => x.reason))];
  return {
    deviceId: s.deviceId,
    score: Math.round(score * 1000) / 1000,
    reasons,
    since: runStart ?? firstLateAt ?? (openRatio >= OPEN.from ? lastAt : s.nowMs),
  };
}

interface Trend {
  /** Growth factor of the gaps the slope predicts across the series' span. */
  growth: number;
  fromS: number;
  toS: number;
  spanMs: number;
}

/**
 * Theil–Sen over block medians: the series is cut into `blocks` runs of
 * consecutive gaps; each gives its median log ratio at its median time, and
 * the slope is the median of the slopes between every two blocks.
 */
function trendOf(s: GapSeries, n: number, baselineS: number, blocks: number): Trend | null {
  const size = Math.floor(n / blocks);
  if (blocks < 2 || size < 3) return null;
  const t: number[] = [];
  const y: number[] = [];
  for (let b = 0; b < blocks; b++) {
    const start = n - (blocks - b) * size; // the newest gaps always count; the oldest few may not
    t.push(s.atMs[start + (size >> 1)]!);
    y.push(Math.log(Math.max(median(s.gapsS, start, start + size), 1e-3) / baselineS));
  }
  const slopes: number[] = [];
  for (let i = 0; i < blocks; i++) {
    for (let j = i + 1; j < blocks; j++) if (t[j]! > t[i]!) slopes.push((y[j]! - y[i]!) / (t[j]! - t[i]!));
  }
  if (slopes.length === 0) return null;
  const slope = median(slopes, 0, slopes.length);
  const spanMs = t[blocks - 1]! - t[0]!;
  return { growth: Math.exp(slope * spanMs), fromS: Math.exp(y[0]!) * baselineS, toS: Math.exp(y[blocks - 1]!) * baselineS, spanMs };
}

function trendReason(trend: Trend, baselineS: number, ewmaRatio: number): string {
  return `gaps grew from ${duration(trend.fromS)} to ${duration(trend.toS)} over ${duration(trend.spanMs / 1000)} (EWMA ${ewmaRatio.toFixed(1)}× baseline ${duration(baselineS)})`;
}

function levelReason(trend: Trend | null, ewmaRatio: number, baselineS: number): string {
  if (trend && trend.growth >= TREND.from) return trendReason(trend, baselineS, ewmaRatio);
  return `recent gaps ${ewmaRatio.toFixed(1)}× the usual ${duration(baselineS)} (EWMA)`;
}

function ramp(x: number, r: { from: number; to: number }): number {
  if (!(x > r.from)) return 0;
  return x >= r.to ? 1 : (x - r.from) / (r.to - r.from);
}

/** "45 s", "12 min", "6.5 h". */
function duration(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  const h = seconds / 3600;
  return `${h < 10 ? Math.round(h * 10) / 10 : Math.round(h)} h`;
}

/** Median of xs[from, to) by quickselect on a scratch copy: O(n) expected. */
function median(xs: readonly number[], from: number, to: number): number {
  const len = to - from;
  if (scratch.length < len) scratch = new Float64Array(Math.max(len, scratch.length * 2));
  for (let i = 0; i < len; i++) scratch[i] = xs[from + i]!;
  const mid = len >> 1;
  const upper = select(scratch, len, mid);
  if (len % 2 === 1) return upper;
  let lower = -Infinity;
  for (let i = 0; i < mid; i++) if (scratch[i]! > lower) lower = scratch[i]!;
  return (lower + upper) / 2;
}

let scratch = new Float64Array(256);

/** The k-th smallest of a[0, len), leaving smaller ones before it (Hoare's selection). */
function select(a: Float64Array, len: number, k: number): number {
  let lo = 0;
  let hi = len - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const tmp = a[i]!;
        a[i] = a[j]!;
        a[j] = tmp;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return a[k]!;
}
