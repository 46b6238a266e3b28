/**
 * A latency histogram that can be merged across processes: 10 µs buckets up
 * to 2 s, then 1 ms buckets up to 10 minutes (anything slower counts as 10
 * minutes). Percentiles are bucket upper bounds, so they err on the slow side
 * by at most one bucket.
 */
const FINE_MS = 0.01;
const FINE = 200_000; // 0–2 s
const COARSE_MS = 1;
const COARSE = 598_000; // 2 s – 10 min

function bucketOf(ms) {
  const f = Math.floor(ms / FINE_MS);
  if (f < FINE) return f;
  return FINE + Math.min(COARSE - 1, Math.floor((ms - FINE * FINE_MS) / COARSE_MS));
}
const upperBound = (b) => (b < FINE ? (b + 1) * FINE_MS : FINE * FINE_MS + (b - FINE + 1) * COARSE_MS);

export class Histogram {
  constructor() {
    this.counts = new Uint32Array(FINE + COARSE);
    this.n = 0;
    this.max = 0;
    this.sum = 0;
  }

  record(ms) {
    if (ms < 0) ms = 0;
    this.n++;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
    this.counts[bucketOf(ms)]++;
  }

  /** Compact form for IPC: only non-empty buckets, as [index, count] pairs. */
  toJSON() {
    const buckets = [];
    for (let i = 0; i < this.counts.length; i++) if (this.counts[i]) buckets.push(i, this.counts[i]);
    return { buckets, n: this.n, max: this.max, sum: this.sum };
  }

  static from(json) {
    const h = new Histogram();
    h.merge(json);
    return h;
  }

  merge(json) {
    for (let i = 0; i < json.buckets.length; i += 2) this.counts[json.buckets[i]] += json.buckets[i + 1];
    this.n += json.n;
    this.sum += json.sum;
    if (json.max > this.max) this.max = json.max;
  }

  percentile(p) {
    if (this.n === 0) return null;
    const rank = Math.ceil((p / 100) * this.n);
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min(upperBound(i), this.max);
    }
    return this.max;
  }

  summary() {
    const r = (v) => (v === null ? null : Math.round(v * 100) / 100);
    return {
      n: this.n,
      mean: this.n ? r(this.sum / this.n) : null,
      p50: r(this.percentile(50)),
      p95: r(this.percentile(95)),
      p99: r(this.percentile(99)),
      max: r(this.max),
    };
  }
}

/** Percentiles of a small array of samples (query timings). */
export function percentiles(values) {
  const s = [...values].sort((a, b) => a - b);
  const at = (p) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
  const r = (v) => Math.round(v * 100) / 100;
  return { n: s.length, min: r(s[0]), p50: r(at(50)), p95: r(at(95)), max: r(s[s.length - 1]) };
}
