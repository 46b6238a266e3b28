import { randomUUID } from 'node:crypto';
import type { Database } from '../../platform/db/database.js';
import type { Logger } from '../../platform/observability/logger.js';
import type { DeviceIdentity } from './devices.repository.js';
import { PresenceRepository, type PresenceChange } from './presence.repository.js';

/** What the broker of this node knows: the devices connected to it. */
export interface PresenceSource {
  connectedIds(): Iterable<string>;
  holds(deviceId: string): boolean;
}

export interface PresenceDeps {
  db: Database;
  logger: Logger;
  /** Seconds between lease renewals; a node not seen for twice this is dead. */
  leaseS: number;
  statusChanged(device: DeviceIdentity, online: boolean, lastSeenAt: Date | null): void;
  /** The database answered again after failing: whatever waited on it can be retried. */
  recovered?(): void;
}

/**
 * Which devices are online, kept true across database outages and dead nodes
 * (issue 20 §4). The broker reports connects and disconnects; when one cannot
 * be written, or the database was away, the node writes its whole truth again
 * (the devices connected to it right now) once the database answers. Each node
 * holds a lease on its devices: those of a node that stops renewing it go
 * offline within twice the lease interval.
 */
export class PresenceService {
  readonly nodeId = randomUUID();
  private readonly repo: PresenceRepository;
  private broker: PresenceSource = { connectedIds: () => [], holds: () => false };
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  /** The database may disagree with the broker: reconcile on the next tick. */
  private dirty = true;
  /** Connects and disconnects seen, to tell whether one raced a reconcile. */
  private changes = 0;
  private failing = false;
  /** Per device, the write in progress or queued: writes of one device never overtake each other. */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly queued = new Set<string>();
  private lastWarnAt = 0;

  constructor(private readonly deps: PresenceDeps) {
    this.repo = new PresenceRepository(deps.db);
  }

  /** Takes the lease and sweeps the dead nodes. */
  async start(broker: PresenceSource): Promise<void> {
    this.broker = broker;
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.deps.leaseS * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.ticking;
    await Promise.all(this.chains.values());
    this.emit(await this.repo.release(this.nodeId).catch(() => []));
  }

  /**
   * A device connected to or left this node's broker. What is written is what the
   * broker says when the write runs, one write at a time per device: a disconnect
   * written late can never mark offline a device that has reconnected meanwhile.
   */
  changed(device: DeviceIdentity): Promise<void> {
    const id = device.deviceId;
    this.changes++;
    if (this.queued.has(id)) return this.chains.get(id)!;
    this.queued.add(id);
    const p = (this.chains.get(id) ?? Promise.resolve()).then(async () => {
      this.queued.delete(id);
      try {
        const r = this.broker.holds(id) ? await this.repo.connected(this.nodeId, id) : await this.repo.disconnected(this.nodeId, id);
        if (r) this.emit([r]);
      } catch (err) {
        this.failed(err);
      }
    });
    this.chains.set(id, p);
    void p.then(() => {
      if (this.chains.get(id) === p) this.chains.delete(id);
    });
    return p;
  }

  /** Renews the lease, writes this node's truth if it may be stale, and sweeps dead nodes. */
  tick(): Promise<void> {
    this.ticking ??= (async () => {
      try {
        await this.repo.renew(this.nodeId);
        if (this.dirty) {
          const seen = this.changes;
          this.dirty = false;
          this.emit(await this.repo.reconcile(this.nodeId, [...this.broker.connectedIds()]));
          // A connect or disconnect written meanwhile may have been overwritten by an older list.
          if (this.changes !== seen) this.dirty = true;
        }
        this.emit(await this.repo.sweep(this.deps.leaseS * 2));
        if (this.failing) {
          this.failing = false;
          this.deps.logger.info('presence: the database answers again; online states rewritten');
          this.deps.recovered?.();
        }
      } catch (err) {
        this.failed(err);
      } finally {
        this.ticking = null;
      }
    })();
    return this.ticking;
  }

  private failed(err: unknown): void {
    this.dirty = true;
    this.failing = true;
    // One line per 10 s at most: during an outage every connect and disconnect fails.
    if (Date.now() - this.lastWarnAt < 10_000) return;
    this.lastWarnAt = Date.now();
    this.deps.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'presence: could not write to the database; rewritten once it answers');
  }

  private emit(changes: PresenceChange[]): void {
    for (const c of changes) this.deps.statusChanged({ deviceId: c.id, orgId: c.org_id, projectId: c.project_id }, c.online, c.last_seen_at);
  }
}
