import type { DevicePage } from '@tether/api-client';
import type { LiveDeviceEvent } from '@tether/contracts';

export type StatusPatch = { online?: boolean; lastSeenAt?: string };

/** The patch an event implies: status events carry online/offline; data means the device was just seen. */
export function patchFromEvent(e: LiveDeviceEvent, now = new Date()): StatusPatch | null {
  if (e.type === 'status') return { online: e.online, ...(e.lastSeenAt ? { lastSeenAt: e.lastSeenAt } : {}) };
  if (e.type === 'telemetry' || e.type === 'location' || e.type === 'alert') return { lastSeenAt: now.toISOString() };
  return null;
}

/** Applies live status and activity to a page of devices; last-seen only moves forward. */
export function applyLive(page: DevicePage, patches: Map<string, StatusPatch>): DevicePage {
  if (!patches.size) return page;
  return {
    ...page,
    items: page.items.map((d) => {
      const p = patches.get(d.id);
      if (!p) return d;
      const lastSeenAt = p.lastSeenAt && (!d.status.lastSeenAt || p.lastSeenAt > d.status.lastSeenAt) ? p.lastSeenAt : d.status.lastSeenAt;
      return { ...d, status: { ...d.status, online: p.online ?? d.status.online, lastSeenAt, active: p.lastSeenAt ? true : d.status.active } };
    }),
  };
}
