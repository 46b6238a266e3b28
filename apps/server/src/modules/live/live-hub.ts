import type { LiveChannel, LiveDeviceEvent, LiveServerMessage } from '@tether/contracts';
import { LIVE_EVENT_CHANNEL } from '@tether/contracts';
import type { DeviceIdentity } from '../devices/devices.repository.js';
import type { DomainBus } from '../events/domain-events.js';
import type { IngestMessage } from '../ingest/ingest-message.js';

/** A node repeats which orgs its dashboards watch this often, and forgets another's after 3 silent repeats (a node that died). */
const INTEREST_REPEAT_MS = 5_000;
const INTEREST_TTL_MS = 3 * INTEREST_REPEAT_MS;

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
 * Fans device events out to live subscribers: this node's, and, through the
 * bus, other nodes' dashboards. Each node tells the others which orgs its
 * dashboards watch (`live.interest`), and events are built and sent only for
 * devices somebody watches somewhere, so ingest pays nothing otherwise.
 */
export class LiveHub {
  private readonly byDevice = new Map<string, Set<LiveSubscription>>();
  private readonly byProject = new Map<string, Set<LiveSubscription>>();
  private readonly byOrg = new Map<string, Set<LiveSubscription>>();
  /** Subscriptions per org on this node. */
  private readonly localOrgs = new Map<string, number>();
  /** What the other nodes' dashboards watch, by node, until their announcement runs out. */
  private readonly remote = new Map<string, { orgIds: Set<string>; until: number }>();
  private remoteOrgs = new Set<string>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly bus: DomainBus) {
    bus.on('telemetry.stored', ({ batch }) => this.committed(batch));
    bus.on('device.status', ({ device, online, lastSeenAt }) => this.statusChanged(device, online, lastSeenAt));
    bus.on('live.event', ({ orgId, event }, from) => {
      if (!from.local) this.deliver(orgId, event);
    });
    bus.on('live.interest', ({ nodeId, orgIds }, from) => {
      if (from.local || nodeId === bus.nodeId) return;
      if (orgIds.length) this.remote.set(nodeId, { orgIds: new Set(orgIds), until: Date.now() + INTEREST_TTL_MS });
      else this.remote.delete(nodeId);
      this.recomputeRemote();
    });
    // Announcements lost in a gap: say again what this node watches.
    bus.onReconnect(() => this.announce());
  }

  /** Repeats this node's interest and forgets silent nodes'. */
  start(): void {
    this.timer ??= setInterval(() => {
      if (this.localOrgs.size) this.announce();
      this.recomputeRemote();
    }, INTEREST_REPEAT_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private announce(): void {
    this.bus.emit('live.interest', { nodeId: this.bus.nodeId, orgIds: [...this.localOrgs.keys()] }, 'others');
  }

  private recomputeRemote(): void {
    const now = Date.now();
    const orgs = new Set<string>();
    for (const [node, r] of this.remote) {
      if (r.until < now) this.remote.delete(node);
      else for (const o of r.orgIds) orgs.add(o);
    }
    this.remoteOrgs = orgs;
  }

  subscribe(sub: LiveSubscription): () => void {
    const n = this.localOrgs.get(sub.orgId) ?? 0;
    this.localOrgs.set(sub.orgId, n + 1);
    if (n === 0) this.announce();
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
    let done = false;
    return () => {
      if (done) return;
      done = true;
      for (const [map, key] of keys) {
        const set = map.get(key);
        set?.delete(sub);
        if (set && set.size === 0) map.delete(key);
      }
      const left = (this.localOrgs.get(sub.orgId) ?? 1) - 1;
      if (left > 0) this.localOrgs.set(sub.orgId, left);
      else {
        this.localOrgs.delete(sub.orgId);
        this.announce();
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

  /** An event for this node's dashboards and, where they watch its org, other nodes'. */
  publish(orgId: string, event: LiveDeviceEvent): void {
    this.deliver(orgId, event);
    if (this.remoteOrgs.has(orgId)) this.bus.emit('live.event', { orgId, event }, 'others');
  }

  /** An event every node learns by itself (from the bus): to this node's dashboards only. */
  deliverHere(orgId: string, event: LiveDeviceEvent): void {
    this.deliver(orgId, event);
  }

  private deliver(orgId: string, event: LiveDeviceEvent): void {
    const subs = this.targets(orgId, event.deviceId, event.projectId);
    if (!subs) return;
    const channel = LIVE_EVENT_CHANNEL[event.type];
    for (const s of subs) if (s.channels.has(channel)) s.send(event);
  }

  private committed(batch: readonly IngestMessage[]): void {
    const remote = this.remoteOrgs;
    if (this.byDevice.size === 0 && this.byProject.size === 0 && this.byOrg.size === 0 && remote.size === 0) return;
    for (const m of batch) {
      const { deviceId, orgId, projectId } = m.device;
      if (!this.byDevice.has(deviceId) && !(projectId && this.byProject.has(projectId)) && !this.byOrg.has(orgId) && !remote.has(orgId)) continue;
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
          alert: { id: a.id, ts: isoFromUs(a.ts), message: a.message, severity: a.severity, type: a.type, data: a.data, files: a.files },
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

  private statusChanged(device: DeviceIdentity, online: boolean, lastSeenAt: string | null): void {
    this.publish(device.orgId, {
      type: 'status',
      deviceId: device.deviceId,
      projectId: device.projectId,
      online,
      lastSeenAt,
    });
  }
}
