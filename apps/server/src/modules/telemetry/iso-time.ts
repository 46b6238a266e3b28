const DAY_MS = 86_400_000;
/** Year 10000: past it toISOString writes an expanded year, so the builtin answers. */
const MAX_MS = 253_402_300_800_000;

let cachedDay = Number.NaN;
let cachedPrefix = '';

const pad2 = (n: number) => (n < 10 ? '0' : '') + n;

/**
 * `new Date(ms).toISOString()` for the thousands of timestamps of one history
 * response, without a Date per point: the date part is formatted once per day
 * and reused, since a series walks through its days in order. Measured at
 * 0.55 µs a call for the builtin against a fraction of that here, and a
 * 1-day chart of 1-minute buckets has 1,440 of them.
 */
export function isoTime(ms: number): string {
  if (!(ms >= 0 && ms < MAX_MS)) return new Date(ms).toISOString();
  const t = Math.floor(ms);
  const day = Math.floor(t / DAY_MS);
  if (day !== cachedDay) {
    cachedPrefix = new Date(day * DAY_MS).toISOString().slice(0, 11);
    cachedDay = day;
  }
  let rest = t - day * DAY_MS;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = Math.floor(rest / 1000);
  const milli = rest - s * 1000;
  return `${cachedPrefix}${pad2(h)}:${pad2(m)}:${pad2(s)}.${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}
