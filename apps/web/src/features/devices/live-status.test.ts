import { describe, expect, it } from 'vitest';
import type { Device, DevicePage } from '@tether/api-client';
import { applyLive, patchFromEvent } from './live-status';

const device = (id: string, online: boolean, lastSeenAt: string | null): Device =>
  ({
    id,
    name: id,
    status: { online, active: false, lastSeenAt, firstSeenAt: null, lastConnectedAt: null, lastDisconnectedAt: null, inactivityTimeoutS: 300 },
  }) as Device;

describe('live device status', () => {
  const page: DevicePage = { items: [device('a', false, '2026-03-01T10:00:00.000Z'), device('b', true, null)], total: 2, limit: 25, offset: 0 };

  it('turns status events and data into patches', () => {
    expect(patchFromEvent({ type: 'status', deviceId: 'a', projectId: null, online: true, lastSeenAt: '2026-03-01T11:00:00.000Z' })).toEqual({
      online: true,
      lastSeenAt: '2026-03-01T11:00:00.000Z',
    });
    const now = new Date('2026-03-01T12:00:00.000Z');
    expect(patchFromEvent({ type: 'telemetry', deviceId: 'a', projectId: null, points: [] }, now)).toEqual({ lastSeenAt: now.toISOString() });
  });

  it('applies patches; last-seen only moves forward', () => {
    const next = applyLive(
      page,
      new Map([
        ['a', { online: true, lastSeenAt: '2026-03-01T09:00:00.000Z' }],
        ['b', { lastSeenAt: '2026-03-01T12:00:00.000Z' }],
      ]),
    );
    expect(next.items[0]!.status).toMatchObject({ online: true, lastSeenAt: '2026-03-01T10:00:00.000Z' });
    expect(next.items[1]!.status).toMatchObject({ online: true, lastSeenAt: '2026-03-01T12:00:00.000Z', active: true });
    expect(applyLive(page, new Map())).toBe(page);
  });
});
