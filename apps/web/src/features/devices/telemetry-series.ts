/**
 * Chartable telemetry: per key, parallel arrays of times (seconds, as uPlot
 * wants them) and numbers, kept sorted so live points can be merged in.
 */

export interface Series {
  key: string;
  /** seconds since the epoch, ascending */
  xs: number[];
  ys: (number | null)[];
}

/** Numbers chart as they are and booleans as 0/1; text and JSON are not charted. */
export function toNumber(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return null;
}

export function seriesFromHistory(history: Record<string, { ts: string; value: unknown }[]>): Map<string, Series> {
  const out = new Map<string, Series>();
  for (const [key, points] of Object.entries(history)) {
    const xs: number[] = [];
    const ys: (number | null)[] = [];
    let numeric = false;
    for (const p of points) {
      const y = toNumber(p.value);
      if (y !== null) numeric = true;
      xs.push(Date.parse(p.ts) / 1000);
      ys.push(y);
    }
    // A key with points but no numbers is text or JSON: it appears only among the latest values.
    if (numeric || points.length === 0) out.set(key, { key, xs, ys });
  }
  return out;
}

/** First index whose x is >= t. */
function lowerBound(xs: number[], t: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Merges live points into the series in place. Points usually arrive in order
 * (an append); store-and-forward uploads may not (an insert). A point already
 * present at the same time is replaced, so a duplicate delivery is harmless.
 * Returns the keys that changed.
 */
export function mergePoints(series: Map<string, Series>, points: { key: string; ts: string; value: unknown }[]): string[] {
  const changed = new Set<string>();
  for (const p of points) {
    const y = toNumber(p.value);
    if (y === null) continue;
    const x = Date.parse(p.ts) / 1000;
    let s = series.get(p.key);
    if (!s) series.set(p.key, (s = { key: p.key, xs: [], ys: [] }));
    const n = s.xs.length;
    if (n === 0 || x > s.xs[n - 1]!) {
      s.xs.push(x);
      s.ys.push(y);
    } else {
      const i = lowerBound(s.xs, x);
      if (s.xs[i] === x) s.ys[i] = y;
      else {
        s.xs.splice(i, 0, x);
        s.ys.splice(i, 0, y);
      }
    }
    changed.add(p.key);
  }
  return [...changed];
}

/** Drops points older than `fromSec`, for a window that slides with the clock. */
export function trimBefore(series: Map<string, Series>, fromSec: number): void {
  for (const s of series.values()) {
    const i = lowerBound(s.xs, fromSec);
    if (i > 0) {
      s.xs.splice(0, i);
      s.ys.splice(0, i);
    }
  }
}

export function lastValue(s: Series): { x: number; y: number } | null {
  for (let i = s.xs.length - 1; i >= 0; i--) {
    const y = s.ys[i];
    if (y !== null && y !== undefined) return { x: s.xs[i]!, y };
  }
  return null;
}

/**
 * The y range of a chart with a display range from the template: the range,
 * widened to any reading outside it, so an out-of-range value is never clipped.
 */
export function yRangeWithin(display: { min?: number; max?: number }, dataMin: number | null, dataMax: number | null): [number, number] {
  const lows = [display.min, dataMin].filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const highs = [display.max, dataMax].filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  let lo = lows.length ? Math.min(...lows) : 0;
  let hi = highs.length ? Math.max(...highs) : lo + 1;
  if (!lows.length) lo = Math.min(hi - 1, 0);
  if (hi <= lo) hi = lo + 1;
  return [lo, hi];
}
