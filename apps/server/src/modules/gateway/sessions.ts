import type { MqttSession } from '../../platform/mqtt/broker.js';
import type { Metrics } from '../../platform/observability/metrics.js';
import type { DeviceIdentity } from '../devices/devices.repository.js';

export type DeviceSession = MqttSession<DeviceIdentity>;

/** Who is connected to this node and listening: what presence and commands ask. */
export interface DeviceSessions {
  /** The devices connected to this node: what presence writes back after an outage. */
  connectedDeviceIds(): Iterable<string>;
  holdsDevice(deviceId: string): boolean;
  /** Connected and subscribed to its command topic. */
  isListening(deviceId: string): boolean;
  /** Connected and subscribed to its ota topic. */
  isListeningOta(deviceId: string): boolean;
}

/** Where a device's first connection and its last disconnect are reported (the presence service). */
export interface DevicePresence {
  changed(device: DeviceIdentity): Promise<void>;
}

/** The device sessions of this node, by device id (lower case, as authenticated). */
export class SessionRegistry implements DeviceSessions {
  private readonly byDevice = new Map<string, Set<DeviceSession>>();
  /** Sessions subscribed to their command topic. */
  private readonly commandListeners = new Map<string, Set<DeviceSession>>();
  /** Sessions subscribed to their ota topic. */
  private readonly otaListeners = new Map<string, Set<DeviceSession>>();

  constructor(
    private readonly presence: DevicePresence,
    private readonly metrics: Metrics,
  ) {}

  connectedDeviceIds(): Iterable<string> {
    return this.byDevice.keys();
  }

  holdsDevice(deviceId: string): boolean {
    return this.byDevice.has(deviceId);
  }

  isListening(deviceId: string): boolean {
    return (this.commandListeners.get(deviceId)?.size ?? 0) > 0;
  }

  isListeningOta(deviceId: string): boolean {
    return (this.otaListeners.get(deviceId)?.size ?? 0) > 0;
  }

  opened(session: DeviceSession): void {
    const { deviceId } = session.identity;
    let set = this.byDevice.get(deviceId);
    if (!set) this.byDevice.set(deviceId, (set = new Set()));
    set.add(session);
    this.metrics.connectedDevices.set(this.byDevice.size);
    if (set.size === 1) void this.presence.changed(session.identity);
  }

  closed(session: DeviceSession): void {
    const identity = session.identity;
    for (const map of [this.commandListeners, this.otaListeners]) {
      const listeners = map.get(identity.deviceId);
      if (listeners?.delete(session) && listeners.size === 0) map.delete(identity.deviceId);
    }
    const set = this.byDevice.get(identity.deviceId);
    if (!set || !set.delete(session)) return;
    if (set.size === 0) {
      this.byDevice.delete(identity.deviceId);
      void this.presence.changed(identity);
    }
    this.metrics.connectedDevices.set(this.byDevice.size);
  }

  /** The session subscribed to its command topic: true the first time for this connection. */
  listens(session: DeviceSession): boolean {
    return addListener(this.commandListeners, session);
  }

  /** The session subscribed to its ota topic: true the first time for this connection. */
  listensOta(session: DeviceSession): boolean {
    return addListener(this.otaListeners, session);
  }

  /** One identity per device listening for commands (or, with 'ota', OTA jobs) here. */
  *listeningDevices(topic: 'commands' | 'ota' = 'commands'): Iterable<DeviceIdentity> {
    for (const sessions of (topic === 'ota' ? this.otaListeners : this.commandListeners).values()) {
      const identity = sessions.values().next().value?.identity;
      if (identity) yield identity;
    }
  }

  /** Closes every session of the device. */
  disconnect(deviceId: string): void {
    for (const s of this.byDevice.get(deviceId.toLowerCase()) ?? []) s.close();
  }
}

function addListener(map: Map<string, Set<DeviceSession>>, session: DeviceSession): boolean {
  const { deviceId } = session.identity;
  let set = map.get(deviceId);
  if (!set) map.set(deviceId, (set = new Set()));
  if (set.has(session)) return false;
  set.add(session);
  return true;
}
