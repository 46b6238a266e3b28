import { describe, expect, it } from 'vitest';
import { ReceiveClock } from './receive-clock.js';

describe('ReceiveClock', () => {
  it('gives one device unique, increasing times within one millisecond', () => {
    const clock = new ReceiveClock(() => 1_000);
    const times = Array.from({ length: 1500 }, () => clock.next('a'));
    expect(new Set(times).size).toBe(1500);
    expect(times[0]).toBe(1_000_000);
    expect(times.every((t, i) => i === 0 || t === times[i - 1]! + 1)).toBe(true);
  });

  it('keeps devices apart, and follows the wall clock once it has caught up', () => {
    let now = 1_000;
    const clock = new ReceiveClock(() => now);
    expect([clock.next('a'), clock.next('a'), clock.next('b')]).toEqual([1_000_000, 1_000_001, 1_000_000]);
    now = 1_001;
    expect(clock.next('a')).toBe(1_001_000);
  });

  it('never goes back when the wall clock does, and follows a time moved elsewhere', () => {
    let now = 5_000;
    const clock = new ReceiveClock(() => now);
    const t = clock.next('a');
    now = 4_000;
    expect(clock.next('a')).toBe(t + 1);
    clock.advance('a', t + 100);
    expect(clock.next('a')).toBe(t + 101);
  });

  it('forgets devices a minute behind the wall clock', () => {
    let now = 1_000;
    const clock = new ReceiveClock(() => now);
    for (let i = 0; i < 100; i++) clock.next(`d${i}`);
    now += 120_000;
    clock.next('x');
    expect(clock.size).toBe(1);
  });
});
