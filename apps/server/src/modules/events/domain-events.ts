import type { CommandStatus, LiveDeviceEvent } from '@tether/contracts';
import type { EventBus } from '../../platform/bus/event-bus.js';
import type { DeviceIdentity } from '../devices/devices.repository.js';
import type { IngestMessage } from '../ingest/ingest-message.js';

/**
 * Every domain event, by name. Services emit them after their commit, never
 * before. The bus is fire-and-forget: an event is a wake-up and the database
 * stays the truth, so a lost event only delays what the next connect, poll or
 * retry does anyway. Work that must not be lost goes through pg-boss.
 *
 * Which ones cross nodes is chosen where they are emitted (EventBus.emit's
 * audience): the hot ones (`telemetry.stored`) stay on their node, and the live
 * hub forwards only what a dashboard elsewhere watches.
 */
export interface DomainEvents {
  /** A batch of device messages committed by this node's ingest (never sent to other nodes). */
  'telemetry.stored': { batch: readonly IngestMessage[] };
  /** A device went online or offline (this node's presence). */
  'device.status': { device: DeviceIdentity; online: boolean; lastSeenAt: string | null };
  /** The device's credentials were rotated or revoked: earlier JWTs and its live sessions end, on every node. */
  'device.credentials_revoked': { deviceId: string };
  /** The device was deleted: its sessions, cached JWTs and retained messages go, on every node. */
  'device.deleted': { deviceId: string };
  /** The device has commands to send (new, queued again, or room in its window): the node holding it sends; long-polls wake. */
  'command.pending': DeviceIdentity;
  /** A command changed state: callers waiting for its result (`?wait=true`) read it again. */
  'command.changed': { commandId: string; deviceId: string; status: CommandStatus };
  /** The resolved configuration of these devices changed: the node holding each publishes it. */
  'config.changed': { devices: DeviceIdentity[] };
  /** A live event for dashboards on other nodes (sent only to orgs they watch). */
  'live.event': { orgId: string; event: LiveDeviceEvent };
  /** The orgs a node's dashboards watch; repeated while they do. */
  'live.interest': { nodeId: string; orgIds: string[] };
  /** An org's alarm rules changed: every node reads them again. */
  'alarm_rules.changed': { orgId: string };
  /** An alarm was raised, cleared, acknowledged or assigned (dashboards; other nodes' evaluators forget what they knew of it). */
  'alarm.changed': { orgId: string; alarmId: string; ruleId: string | null; deviceId: string; projectId: string | null; open: boolean };
  /** These devices have an OTA job they may be told now (a group started, a retry, a window opened): the node holding each tells it. */
  'ota.released': { deviceIds: string[] };
  /** The JWT signing keys changed (`tether admin rotate-jwt-key`): read them again now. */
  'signing_keys.changed': Record<string, never>;
}

export type DomainBus = EventBus<DomainEvents>;
