import type { Queryable } from '../../platform/db/database.js';
import { assessDevice, type EarlyWarningOptions } from './early-warning.js';
import { HealthScanRepository, type WarningRow } from './health.repository.js';

/** Heartbeats kept per device: its last 150 gaps (the detector's 30 recent ones against a baseline of up to 120 before them). */
export const SCAN_BEATS = 151;
/** Devices read per query of a full read: bounds its memory per query whatever the fleet's size. */
const PAGE = 2_000;
/** A full read this often, whatever happened: it picks up late heartbeats (older than a device's last) and retirements. */
const FULL_READ_MS = 3_600_000;
/** Each incremental read goes this far before the newest heartbeat read last time: beats committed out of order by a few seconds still arrive. */
const OVERLAP_MS = 120_000;

export interface ScanResult {
  /** Full: every device's heartbeats read again; incremental: only those since the last scan. */
  kind: 'full' | 'incremental';
  assessed: number;
  warned: number;
  /** Heartbeats read. */
  beatsRead: number;
  /** Reading heartbeats, judging and writing, ms. */
  durationMs: number;
  /** Of which the detector, ms. */
  detectorMs: number;
}

/**
 * The early-warning scan: every device not retired and ever heard is judged by
 * assessDevice on its last SCAN_BEATS heartbeats (its baseline is its own older
 * gaps), and the flagged ones replace the stored warnings. Devices with too
 * little history (under 50 heartbeats) are never flagged.
 *
 * The scanner keeps each device's last heartbeats in memory (8 bytes each:
 * 12 MB for 10,000 devices), so a scan reads only the heartbeats received
 * since the last one: a time range of the newest partition, not 151 index
 * probes per device. The first scan, and one an hour, reads everything again.
 * Whichever worker holds the scan's lock runs it; each node's memory is its
 * own, so a node that has not scanned for a while just reads a longer range.
 */
export class HealthScanner {
  private readonly repo: HealthScanRepository;
  private readonly beats = new Map<string, Float64Array>();
  private newestMs: number | null = null;
  private fullAtMs = -Infinity;

  constructor(
    db: Queryable,
    private readonly opts: Partial<EarlyWarningOptions> = {},
  ) {
    this.repo = new HealthScanRepository(db);
  }

  async scan(nowMs = Date.now(), full = false): Promise<ScanResult> {
    const t0 = performance.now();
    const kind = full || this.newestMs === null || nowMs - this.fullAtMs >= FULL_READ_MS ? 'full' : 'incremental';
    const beatsRead = kind === 'full' ? await this.readAll(nowMs) : await this.readSince(this.newestMs! - OVERLAP_MS);
    const d0 = performance.now();
    const warnings: WarningRow[] = [];
    for (const [deviceId, times] of this.beats) {
      const n = times.length - 1;
      const gapsS = new Array<number>(n);
      const atMs = new Array<number>(n);
      for (let i = 0; i < n; i++) {
        gapsS[i] = (times[i + 1]! - times[i]!) / 1000;
        atMs[i] = times[i + 1]!;
      }
      const w = assessDevice({ deviceId, gapsS, atMs, nowMs, expectedIntervalS: null }, this.opts);
      if (w) warnings.push({ device_id: w.deviceId, score: w.score, reasons: w.reasons, since: new Date(w.since) });
    }
    const detectorMs = performance.now() - d0;
    await this.repo.saveWarnings(warnings, new Date(nowMs), { assessed: this.beats.size, durationMs: performance.now() - t0 });
    return { kind, assessed: this.beats.size, warned: warnings.length, beatsRead, durationMs: performance.now() - t0, detectorMs };
  }

  private async readAll(nowMs: number): Promise<number> {
    this.beats.clear();
    this.newestMs = null;
    let read = 0;
    for (let after: string | null = null; ;) {
      const rows = await this.repo.recentBeats(after, PAGE, SCAN_BEATS);
      for (const r of rows) {
        if (!r.beats?.length) continue; // its heartbeats are gone (deleted with their partition)
        this.beats.set(r.id, Float64Array.from(r.beats));
        this.newestMs = Math.max(this.newestMs ?? -Infinity, r.beats.at(-1)!);
        read += r.beats.length;
      }
      if (rows.length < PAGE) break;
      after = rows.at(-1)!.id;
    }
    this.fullAtMs = nowMs;
    return read;
  }

  /** Appends each device's heartbeats newer than its last known one, keeping the last SCAN_BEATS. */
  private async readSince(afterMs: number): Promise<number> {
    const rows = await this.repo.beatsSince(afterMs);
    for (let i = 0; i < rows.length;) {
      const deviceId = rows[i]!.device_id;
      const held = this.beats.get(deviceId);
      const lastMs = held?.length ? held[held.length - 1]! : -Infinity;
      const fresh: number[] = [];
      for (; i < rows.length && rows[i]!.device_id === deviceId; i++) if (rows[i]!.ms > lastMs) fresh.push(rows[i]!.ms);
      if (!fresh.length) continue;
      const merged = new Float64Array(Math.min(SCAN_BEATS, (held?.length ?? 0) + fresh.length));
      const keepOld = merged.length - Math.min(fresh.length, merged.length);
      if (held && keepOld > 0) merged.set(held.subarray(held.length - keepOld), 0);
      merged.set(fresh.slice(fresh.length - (merged.length - keepOld)), keepOld);
      this.beats.set(deviceId, merged);
      this.newestMs = Math.max(this.newestMs ?? -Infinity, merged[merged.length - 1]!);
    }
    return rows.length;
  }
}

/** One full scan (tests, the bench): every device's heartbeats read afresh. */
export function scanFleet(db: Queryable, nowMs = Date.now(), opts: Partial<EarlyWarningOptions> = {}): Promise<ScanResult> {
  return new HealthScanner(db, opts).scan(nowMs, true);
}
