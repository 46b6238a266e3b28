/**
 * The heartbeat sensor's health, gap by gap: pure, over a seeded random (the
 * live simulation with failing sensors is in simulate.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { createHeartbeatSensor, drawHeartbeatHealth, type HeartbeatHealth, type Random } from '../src/cli/simulate/device-models.js';
import { parseSimulateArgs } from '../src/cli/simulate/options.js';

const HOUR = 3_600_000;

/** Gaps (multiples of the usual interval) of one sensor at a usual interval of 60 s, until it dies or `hours` pass. */
function gaps(health: HeartbeatHealth, random: Random, hours: number): { t: number; gap: number }[] {
  const sensor = createHeartbeatSensor(random, 0, health);
  const out: { t: number; gap: number }[] = [];
  for (let t = 0; t < hours * HOUR;) {
    const gap = sensor.nextGap(t);
    if (gap === null) break;
    out.push({ t, gap });
    t += gap * 60_000;
  }
  return out;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('heartbeat sensor health', () => {
  it('healthy: gaps stay close to the usual interval, a rare missed beat', () => {
    const g = gaps(drawHeartbeatHealth('healthy', seeded(1)), seeded(2), 48).map((x) => x.gap);
    expect(g.length).toBeGreaterThan(2700);
    expect(mean(g)).toBeGreaterThan(0.98);
    expect(mean(g)).toBeLessThan(1.03);
    expect(g.filter((x) => x > 1.5).length / g.length).toBeLessThan(0.015);
  });

  it('noisy: jittery gaps and more missed beats around a stable mean, and it never dies', () => {
    const g = gaps(drawHeartbeatHealth('noisy', seeded(3)), seeded(4), 48).map((x) => x.gap);
    expect(g.length).toBeGreaterThan(2000);
    const first = mean(g.slice(0, 1000));
    const last = mean(g.slice(-1000));
    expect(Math.abs(first - last)).toBeLessThan(0.1);
    expect(Math.min(...g)).toBeLessThan(0.6);
    expect(Math.max(...g)).toBeGreaterThan(2.5);
    expect(g.filter((x) => x > 1.5).length / g.length).toBeGreaterThan(0.05);
  });

  it('degrading: healthy until its onset, gaps growing to several times the usual, then dead at onset + duration', () => {
    const health = drawHeartbeatHealth('degrading', seeded(5));
    expect(health.onsetMs).toBeGreaterThanOrEqual(0.5 * HOUR);
    expect(health.onsetMs).toBeLessThan(2.5 * HOUR);
    expect(health.durationMs).toBeGreaterThanOrEqual(2 * HOUR);
    expect(health.durationMs).toBeLessThanOrEqual(12 * HOUR);
    const seq = gaps(health, seeded(6), 48);
    const lastT = seq[seq.length - 1]!.t;
    // It died (the last beat is before 48 h) within one last gap of onset + duration.
    expect(lastT).toBeLessThan(health.onsetMs + health.durationMs);
    expect(lastT).toBeGreaterThan(health.onsetMs + health.durationMs - 2 * health.finalFactor * 60_000 * 3);
    const before = seq.filter((x) => x.t < health.onsetMs).map((x) => x.gap);
    const lastQuarter = seq.filter((x) => x.t > health.onsetMs + 0.75 * health.durationMs).map((x) => x.gap);
    expect(mean(before)).toBeLessThan(1.1);
    expect(mean(lastQuarter)).toBeGreaterThan(0.5 * health.finalFactor);
    // The same seeds give the same sequence (the bench relies on it).
    expect(gaps(health, seeded(6), 48)).toEqual(seq);
    // Once dead, dead for good.
    const sensor = createHeartbeatSensor(seeded(7), 0, health);
    expect(sensor.nextGap(health.onsetMs + health.durationMs)).toBeNull();
    expect(sensor.nextGap(health.onsetMs + health.durationMs + HOUR)).toBeNull();
  });

  it('takes --degrade, --noisy and --health-speed, and rejects bad ones', () => {
    const base = ['--devices-file', 'f.json'];
    const parsed = parseSimulateArgs([...base, '--degrade', '0.2', '--noisy', '0.3', '--health-speed', '60'], {});
    expect(!parsed.help && parsed.options.health).toEqual({ degradeShare: 0.2, noisyShare: 0.3, speed: 60 });
    const defaults = parseSimulateArgs(base, {});
    expect(!defaults.help && defaults.options.health).toEqual({ degradeShare: 0, noisyShare: 0, speed: 1 });
    expect(() => parseSimulateArgs([...base, '--degrade', '0.7', '--noisy', '0.5'], {})).toThrow(/--degrade and --noisy together/);
    expect(() => parseSimulateArgs([...base, '--degrade', '2'], {})).toThrow(/--degrade: expected a share from 0 to 1/);
    expect(() => parseSimulateArgs([...base, '--health-speed', '0'], {})).toThrow(/--health-speed/);
  });
});

function seeded(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
