import type { DomainBus } from '../events/domain-events.js';
import type { DeviceIdentity } from './devices.repository.js';
import type { DevicesService } from './devices.service.js';

export interface DeviceEntry {
  identity: DeviceIdentity;
  inactivityTimeoutS: number;
}

/** A known device is read again after this long at most: a project move or a new timeout shows within it. */
const KNOWN_TTL_MS = 60_000;
/** An unknown id is asked again after this long: a device created on another node is found within it. */
const UNKNOWN_TTL_MS = 5_000;
/** Past this many entries the cache starts over: a bound, not an LRU. */
const MAX_ENTRIES = 200_000;

/**
 * Devices by id, cached: an external broker's messages name their device in
 * the topic, and a lookup per message would cost a query at 10,000s a second.
 * A deleted device is dropped at once on every node (`device.deleted`).
 */
export class DeviceDirectory {
  private readonly entries = new Map<string, { entry: DeviceEntry | null; until: number }>();

  constructor(
    private readonly devices: Pick<DevicesService, 'identityWithTimeout'>,
    bus: DomainBus,
  ) {
    bus.on('device.deleted', ({ deviceId }) => void this.entries.delete(deviceId));
    // Deletions missed while cut off from the other nodes.
    bus.onReconnect(() => this.entries.clear());
  }

  /** The device, or null if there is none with this id. Throws when the database is unavailable. */
  async lookup(deviceId: string): Promise<DeviceEntry | null> {
    const now = Date.now();
    const hit = this.entries.get(deviceId);
    if (hit && hit.until > now) return hit.entry;
    const entry = await this.devices.identityWithTimeout(deviceId);
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(deviceId, { entry, until: now + (entry ? KNOWN_TTL_MS : UNKNOWN_TTL_MS) });
    return entry;
  }
}
