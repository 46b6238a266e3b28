import type { PublishWindows } from '../../platform/mqtt/publish-window.js';
import type { Logger } from '../../platform/observability/logger.js';
import type { CommandsService } from '../commands/commands.service.js';
import type { DeviceIdentity } from '../devices/devices.repository.js';
import type { IngestRejection } from '../ingest/ingest-message.js';
import type { IngestService } from '../ingest/ingest.service.js';
import type { OtaJobsService } from '../ota/ota-jobs.service.js';
import type { ThingsboardBackend, ThingsboardTopics } from './handlers/thingsboard.js';
import type { SessionRegistry } from './sessions.js';

/** What a device's subscriptions and acks mean to the rest of Tether: set once the services exist (DeviceGateway.attach). */
export interface GatewayHooks {
  commands?: CommandsService;
  /** OTA jobs: told on subscription, reported on devices/{id}/ota/status. */
  ota?: Pick<OtaJobsService, 'deliverHere' | 'report'>;
  /** The device subscribed to its config topic: send it the resolved configuration. */
  onConfigSubscribe?(device: DeviceIdentity): void;
  /** ThingsBoard attributes and gateways (handlers/thingsboard.ts). */
  thingsboard?: ThingsboardBackend;
}

/** What the topic handlers share: one object per gateway. */
export interface GatewayContext {
  readonly ingest: Pick<IngestService, 'accept' | 'reject'>;
  readonly windows: PublishWindows;
  readonly sessions: SessionRegistry;
  /** Who listens on the ThingsBoard topics, and their RPC ids. */
  readonly thingsboard: ThingsboardTopics;
  readonly logger: Logger;
  hooks: GatewayHooks;
}

/**
 * Refuses a device's publish: counted as a rejected message (unless ingest has
 * counted it already), then answered with the error. MQTT 3.1.1 has no PUBACK
 * reason code: the connection is closed (MQTT-3.3.5-2); MQTT 5 gets PUBACK 0x87.
 */
export function refuse(ctx: GatewayContext, identity: DeviceIdentity, err: IngestRejection, done: (e: Error | null) => void, counted = false): void {
  if (!counted) ctx.ingest.reject(identity.deviceId, 'mqtt', err);
  done(err);
}
