import type { CommandMessage } from '@tether/contracts';

/** How the domain reaches devices: the "→ device" topics of architecture §4. */
export interface Downlink {
  /** devices/{id}/commands/{commandId} at QoS 1. */
  send(deviceId: string, commandId: string, message: CommandMessage): void;
  /** Retained at QoS 1 (devices/{id}/config), so the device gets it now and on every reconnect. */
  publishRetained(topic: string, payload: unknown): Promise<void>;
  /** Drops the retained message on the topic (the device was deleted). */
  clearRetained(topic: string): Promise<void>;
  /** Whether the broker holds a retained message on the topic; none after a restart until published again. */
  hasRetained(topic: string): boolean;
}
