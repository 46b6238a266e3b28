import { describe, expect, it } from 'vitest';
import { planGroups } from './rollout-groups.js';

describe('planGroups', () => {
  it('splits by cumulative percents', () => {
    expect(planGroups(1000, [{ percent: 1 }, { percent: 10 }, { percent: 50 }, { percent: 100 }])).toEqual([10, 90, 400, 500]);
    expect(planGroups(50, [{ percent: 10 }, { percent: 50 }, { percent: 100 }])).toEqual([5, 20, 25]);
  });

  it('gives every group a device while any are left, and drops the empty ones', () => {
    expect(planGroups(3, [{ percent: 1 }, { percent: 10 }, { percent: 50 }, { percent: 100 }])).toEqual([1, 1, 1]);
    expect(planGroups(1, [{ percent: 1 }, { percent: 100 }])).toEqual([1]);
  });

  it('takes fixed counts, the last group taking the rest', () => {
    expect(planGroups(100, [{ count: 5 }, { count: 20 }])).toEqual([5, 95]);
    expect(planGroups(10, [{ count: 5 }, { count: 20 }, { count: 1 }])).toEqual([5, 5]);
    expect(planGroups(100, [{ count: 2 }, { percent: 50 }, { percent: 100 }])).toEqual([2, 48, 50]);
  });

  it('refuses what does not make sense', () => {
    expect(planGroups(10, [])).toMatch(/at least one/);
    expect(planGroups(10, [{ percent: 50 }, { percent: 10 }])).toMatch(/cumulative/);
    expect(planGroups(10, [{ percent: 0 }])).toMatch(/above 0/);
    expect(planGroups(10, [{ count: 0 }])).toMatch(/at least 1/);
  });
});
