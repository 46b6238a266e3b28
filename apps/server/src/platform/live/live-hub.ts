import type { LiveChannel, LiveDeviceEvent, LiveServerMessage } from '@tether/contracts';
import { LIVE_EVENT_CHANNEL } from '@tether/contracts';
import type { DeviceIdentity } from '../../modules/devices/devices.repository.js';
import type { IngestListener } from '../../modules/ingest/ingest.service.js';
import type { IngestMessage } from '../../modules/ingest/ingest-message.js';

/** Ingest keeps times in microseconds; the live feed shows them as the REST API does, to the millisecond. */
const isoFromUs = (us: number) => new Date(Math.floor(us / 1000)).toISOString();

export interface LiveSubscription {
  orgId: string;
  /** null: every device of `projectId`, or of the whole org when projectId is null too. */
  devices: Set<string> | null;
  projectId: string | null;
  channels: Set<LiveChannel>;
  send(msg: LiveServerMessage): void;
}

/**
 * Fans committed device events out to live subscribers of this node. Events are
 * built only for devices somebody is watching, so ingest pays nothing otherwise.
 */
export class LiveHub implements IngestListener {
  private readonly byDevice = new Map<string, Set<LiveSubscription>>();
  private readonly byProject = new Map<string, Set<LiveSubscription>>();
  private readonly byOrg = new Map<string, Set<LiveSubscription>>();

  subscribe(sub: LiveSubscription): () => void {
    const keys: [Map<string, Set<LiveSubscription>>, string][] = sub.devices
      ? [...sub.devices].map((d) => [this.byDevice, d] as [Map<string, Set<LiveSubscription>>, string])
      : sub.projectId
        ? [[this.byProject, sub.projectId]]
        : [[this.byOrg, sub.orgId]];
    for (const [map, key] of keys) {
      let set = map.get(key);
      if (!set) map.set(key, (set = new Set()));
      set.add(sub);
    }
    return () => {
      for (const [map, key] of keys) {
        const set = map.get(key);
        set?.delete(sub);
        if (set && set.size === 0) map.delete(key);
      }
    };
  }

  get subscriptionCount(): number {
    return this.byDevice.size + this.byProject.size + this.byOrg.size;
  }

  private targets(orgId: string, deviceId: string, projectId: string | null): LiveSubscription[] | null {
    const a = this.byDevice.get(deviceId);
    const b = projectId ? this.byProject.get(projectId) : undefined;
    const c = this.byOrg.get(orgId);
    if (!a && !b && !c) return null;
    // Org is checked again here, so a subscription can never see another org's device.
    return [...new Set([...(a ?? []), ...(b ?? []), ...(c ?? [])])].filter((s) => s.orgId === orgId);
  }

  publish(orgId: string, event: LiveDeviceEvent): void {
    const subs = this.targets(orgId, event.deviceId, event.projectId);
    if (!subs) return;
    const channel = LIVE_EVENT_CHANNEL[event.type];
    for (const s of subs) if (s.channels.has(channel)) s.send(event);
  }

  committed(batch: readonly IngestMessage[]): void {
    if (this.byDevice.size === 0 && this.byProject.size === 0 && this.byOrg.size === 0) return;
    for (const m of batch) {
      const { deviceId, orgId, projectId } = m.device;
      if (!this.byDevice.has(deviceId) && !(projectId && this.byProject.has(projectId)) && !this.byOrg.has(orgId)) continue;
      if (m.telemetry.length) {
        this.publish(orgId, {
          type: 'telemetry',
          deviceId,
          projectId,
          points: m.telemetry.map((p) => ({ key: p.key, ts: isoFromUs(p.ts), value: p.value })),
        });
      }
      if (m.alert) {
        const a = m.alert;
        this.publish(orgId, {
          type: 'alert',
          deviceId,
          projectId,
          alert: { id: a.id, ts: isoFromUs(a.ts), message: a.message, severity: a.severity, type: a.type, data: a.data },
        });
      }
      if (m.location) {
        const l = m.location;
        this.publish(orgId, {
          type: 'location',
          deviceId,
          projectId,
          location: { ts: isoFromUs(l.ts), lat: l.lat, lon: l.lon, alt: l.alt, speed: l.speed, heading: l.heading },
        });
      }
    }
  }

  statusChanged(device: DeviceIdentity, online: boolean, lastSeenAt: Date | null): void {
    this.publish(device.orgId, {
      type: 'status',
      deviceId: device.deviceId,
      projectId: device.projectId,
      online,
      lastSeenAt: lastSeenAt?.toISOString() ?? null,
    });
  }
}
