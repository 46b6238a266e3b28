import { describe, expect, it } from 'vitest';
import { bucketSeconds, intervalParam, resolveRange, telemetryQuery } from './telemetry-range';

describe('telemetry ranges', () => {
  it('reads up to an hour raw and aggregates longer ranges', () => {
    expect(bucketSeconds(15 * 60_000)).toBeNull();
    expect(bucketSeconds(3_600_000)).toBeNull();
    expect(bucketSeconds(3 * 3_600_000)).toBe(60);
    expect(bucketSeconds(86_400_000)).toBe(300);
    expect(bucketSeconds(7 * 86_400_000)).toBe(1800);
    expect(bucketSeconds(365 * 86_400_000)).toBe(86_400);
  });

  it('speaks the API interval syntax', () => {
    expect(intervalParam(300)).toBe('5m');
    expect(intervalParam(1800)).toBe('30m');
    expect(intervalParam(3600)).toBe('1h');
    expect(intervalParam(86_400)).toBe('1d');
    expect(intervalParam(45)).toBe('45s');
  });

  it('queries a live preset from now back, open-ended', () => {
    const now = Date.parse('2026-03-01T12:00:00Z');
    const r = resolveRange({ kind: 'preset', preset: '24h' }, now);
    expect(r).toEqual({ from: now - 86_400_000, to: now, bucket: 300, live: true });
    expect(telemetryQuery(r)).toEqual({ from: '2026-02-28T12:00:00.000Z', interval: '5m', agg: 'avg' });
    expect(telemetryQuery(resolveRange({ kind: 'preset', preset: '15m' }, now))).toEqual({ from: '2026-03-01T11:45:00.000Z', limit: 100_000 });
  });

  it('queries a custom window with both ends, in either order', () => {
    const a = Date.parse('2026-03-01T00:00:00Z');
    const b = Date.parse('2026-03-08T00:00:00Z');
    const r = resolveRange({ kind: 'custom', from: b, to: a });
    expect(r).toEqual({ from: a, to: b, bucket: 1800, live: false });
    expect(telemetryQuery(r)).toEqual({ from: '2026-03-01T00:00:00.000Z', to: '2026-03-08T00:00:00.000Z', interval: '30m', agg: 'avg' });
  });
});
