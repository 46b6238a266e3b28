import { planGroups as serverPlan } from '@tether/contracts';
import { describe, expect, it } from 'vitest';
import { allowedActions, applyOtaEvent, buckets, groupsProblem, planGroups, windowSummary, type DeploymentJob, type JobCounts } from './deployments';

const counts = (c: Partial<JobCounts> = {}): JobCounts => ({
  pending: 0,
  notified: 0,
  downloading: 0,
  downloaded: 0,
  installing: 0,
  installed: 0,
  failed: 0,
  'timed-out': 0,
  cancelled: 0,
  ...c,
});

const job = (j: Partial<DeploymentJob> = {}): DeploymentJob => ({
  deviceId: 'd1',
  deviceName: 'boiler-1',
  group: 0,
  state: 'notified',
  progress: null,
  error: null,
  fromVersion: '1.4.0',
  attempts: 1,
  releasedAt: '2026-03-01T12:00:00.000Z',
  deadlineAt: '2026-03-02T12:00:00.000Z',
  notifiedAt: '2026-03-01T12:00:00.000Z',
  finishedAt: null,
  updatedAt: '2026-03-01T12:00:00.000Z',
  ...j,
});

describe('planGroups', () => {
  it('plans exactly as the server does', () => {
    for (const total of [0, 1, 2, 3, 7, 10, 49, 50, 99, 1000, 12345]) {
      for (const percents of [[100], [10, 100], [1, 10, 50, 100], [20, 60, 100], [5, 25, 100]]) {
        const server = serverPlan(
          total,
          percents.map((percent) => ({ percent })),
        );
        expect(planGroups(total, percents), `${total} ${percents.join(',')}`).toEqual(typeof server === 'string' ? [] : server);
      }
    }
  });

  it('splits devices as the server does: cumulative shares, at least one a group, the last takes the rest', () => {
    expect(planGroups(10, [10, 50, 100])).toEqual([1, 4, 5]);
    expect(planGroups(10, [1, 10, 50, 100])).toEqual([1, 1, 3, 5]);
    expect(planGroups(1000, [1, 10, 50, 100])).toEqual([10, 90, 400, 500]);
    // Fewer devices than groups: empty groups are dropped.
    expect(planGroups(2, [1, 10, 50, 100])).toEqual([1, 1]);
    expect(planGroups(0, [100])).toEqual([]);
  });
});

describe('groupsProblem', () => {
  it.each([
    [[100], null],
    [[1, 10, 50, 100], null],
    [[], 'Add at least one group.'],
    [[10, 10, 100], 'Shares are cumulative (like 1, 10, 50, 100): each must be above the one before.'],
    [[50, 10, 100], 'Shares are cumulative (like 1, 10, 50, 100): each must be above the one before.'],
    [[0, 100], 'Each group is a share of the deployment, above 0% and at most 100%.'],
    [[NaN, 100], 'Each group is a share of the deployment, above 0% and at most 100%.'],
    [[10, 50], 'The last group must reach 100%.'],
  ])('%j → %s', (percents, problem) => {
    expect(groupsProblem(percents)).toBe(problem);
  });
});

describe('allowedActions', () => {
  it('offers only what the server allows in each status', () => {
    expect(allowedActions({ status: 'running', counts: counts({ notified: 3 }) })).toEqual({ pause: true, resume: false, cancel: true, retry: false });
    expect(allowedActions({ status: 'paused', counts: counts({ failed: 1 }) })).toEqual({ pause: false, resume: true, cancel: true, retry: true });
    // Stopped: retry also takes the devices its stop cancelled.
    expect(allowedActions({ status: 'stopped', counts: counts({ cancelled: 4 }) })).toEqual({ pause: false, resume: false, cancel: false, retry: true });
    expect(allowedActions({ status: 'completed', counts: counts({ installed: 9, 'timed-out': 1 }) }).retry).toBe(true);
    expect(allowedActions({ status: 'completed', counts: counts({ installed: 10 }) }).retry).toBe(false);
    expect(allowedActions({ status: 'cancelled', counts: counts({ failed: 2 }) })).toEqual({ pause: false, resume: false, cancel: false, retry: false });
  });
});

describe('buckets', () => {
  it('puts the device states in the progress bar’s buckets', () => {
    expect(
      buckets(counts({ pending: 5, notified: 1, downloading: 2, downloaded: 1, installing: 1, installed: 3, failed: 1, 'timed-out': 2, cancelled: 4 })),
    ).toEqual({
      installed: 3,
      failed: 1,
      timedOut: 2,
      inProgress: 5,
      waiting: 5,
      cancelled: 4,
    });
  });
});

describe('applyOtaEvent', () => {
  it('moves the job on with each report, and ignores one older than the row', () => {
    const j = job();
    const downloading = applyOtaEvent(j, { deploymentId: 'x', state: 'downloading', progress: 40, error: null, at: '2026-03-01T12:00:01.000Z' });
    expect([downloading.state, downloading.progress, downloading.updatedAt]).toEqual(['downloading', 40, '2026-03-01T12:00:01.000Z']);
    const failed = applyOtaEvent(downloading, {
      deploymentId: 'x',
      state: 'failed',
      progress: null,
      error: 'flash write failed',
      at: '2026-03-01T12:00:02.000Z',
    });
    expect([failed.state, failed.error, failed.finishedAt]).toEqual(['failed', 'flash write failed', '2026-03-01T12:00:02.000Z']);
    expect(applyOtaEvent(failed, { deploymentId: 'x', state: 'downloading', progress: 50, error: null, at: '2026-03-01T12:00:01.500Z' })).toBe(failed);
    // A retry opens it again.
    expect(applyOtaEvent(failed, { deploymentId: 'x', state: 'pending', progress: null, error: null, at: '2026-03-01T12:05:00.000Z' }).finishedAt).toBeNull();
  });
});

describe('windowSummary', () => {
  it('reads as times, zone and days', () => {
    expect(windowSummary({ start: '02:00', end: '05:00', timezone: 'Europe/Berlin' })).toBe('02:00–05:00 Europe/Berlin, every day');
    expect(windowSummary({ start: '22:00', end: '04:00', timezone: 'UTC', days: [6, 0] })).toBe('22:00–04:00 UTC, Sun, Sat');
  });
});
