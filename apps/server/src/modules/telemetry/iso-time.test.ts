import { describe, expect, it } from 'vitest';
import { isoTime } from './iso-time.js';

describe('isoTime', () => {
  it('writes what Date.prototype.toISOString writes', () => {
    const cases = [
      0, 1, 999, 1000, 59_999, 60_000, 3_599_999, 3_600_000, 86_399_999, 86_400_000, 951_782_400_000 /* 2000-02-29 */, 1_764_547_200_000, 1_764_547_199_999.9,
      1_764_547_200_000.5, 253_402_300_799_999, 253_402_300_800_000, -1, -62_198_755_200_000,
    ];
    let seed = 7;
    for (let i = 0; i < 20_000; i++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      cases.push(Math.floor((seed / 2 ** 31) * 4_102_444_800_000)); // 1970–2100
    }
    for (const ms of cases) expect(isoTime(ms), String(ms)).toBe(new Date(ms).toISOString());
  });

  it('gives the right day after moving back and forth between days', () => {
    const a = Date.UTC(2026, 11, 1, 23, 59, 59, 999);
    for (const ms of [a, a + 1, a, a - 86_400_000, a + 86_400_001]) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
  });
});
