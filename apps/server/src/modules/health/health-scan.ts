import type { Queryable } from '../../platform/db/database.js';
import { assessDevice, type EarlyWarningOptions } from './early-warning.js';
import { HealthScanRepository, type WarningRow } from './health.repository.js';

/** Heartbeats read per device: its last 150 gaps (the detector's 30 recent ones against a baseline of up to 120 before them). */
export const SCAN_BEATS = 151;
/** Devices read per query: bounds the scan's memory (about 2,000 × 151 numbers) whatever the fleet's size. */
const PAGE = 2_000;

export interface ScanResult {
  assessed: number;
  warned: number;
  /** Reading heartbeats, judging and writing, ms. */
  durationMs: number;
  /** Of which the detector, ms. */
  detectorMs: number;
}

/**
 * The early-warning scan: every device not retired and ever heard is judged by
 * assessDevice on its last SCAN_BEATS heartbeats (its baseline is its own
 * older gaps), and the flagged ones replace the stored warnings. Devices with
 * too little history (under 50 heartbeats) are never flagged.
 */
export async function scanFleet(db: Queryable, nowMs = Date.now(), opts: Partial<EarlyWarningOptions> = {}): Promise<ScanResult> {
  const repo = new HealthScanRepository(db);
  const t0 = performance.now();
  const warnings: WarningRow[] = [];
  let assessed = 0;
  let detectorMs = 0;
  for (let after: string | null = null; ;) {
    const rows = await repo.recentBeats(after, PAGE, SCAN_BEATS);
    const d0 = performance.now();
    for (const r of rows) {
      assessed += 1;
      const n = r.beats.length - 1;
      const gapsS = new Array<number>(Math.max(0, n));
      const atMs = new Array<number>(Math.max(0, n));
      for (let i = 0; i < n; i++) {
        gapsS[i] = (r.beats[i + 1]! - r.beats[i]!) / 1000;
        atMs[i] = r.beats[i + 1]!;
      }
      const w = assessDevice({ deviceId: r.id, gapsS, atMs, nowMs, expectedIntervalS: null }, opts);
      if (w) warnings.push({ device_id: w.deviceId, score: w.score, reasons: w.reasons, since: new Date(w.since) });
    }
    detectorMs += performance.now() - d0;
    if (rows.length < PAGE) break;
    after = rows.at(-1)!.id;
  }
  const durationMs = performance.now() - t0;
  await repo.saveWarnings(warnings, new Date(nowMs), { assessed, durationMs });
  return { assessed, warned: warnings.length, durationMs: performance.now() - t0, detectorMs };
}
