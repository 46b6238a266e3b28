import { createHash } from 'node:crypto';
import os from 'node:os';
import { DEVICE_UPLINK_CHANNELS, deviceTopic, parseDeviceTopic, type CommandMessage, type OtaJobMessage } from '@tether/contracts';
import { ExternalMqttClient, PUBACK } from '../../platform/mqtt/external-client.js';
import type { Logger } from '../../platform/observability/logger.js';
import type { CommandChannel, CommandsService } from '../commands/commands.service.js';
import type { ConfigDownlink } from '../config/config.service.js';
import type { DeviceDirectory } from '../devices/device-directory.js';
import type { DeviceIdentity } from '../devices/devices.repository.js';
import { IngestRejection, type RejectReason } from '../ingest/ingest-message.js';
import type { IngestService } from '../ingest/ingest.service.js';
import { AppError } from '../errors.js';
import type { OtaChannel, OtaJobsService } from '../ota/ota-jobs.service.js';

const COMMAND_RESULT = /^commands\/([^/]+)\/result$/;

/**
 * How long the broker keeps an ingest node's session, and the messages queued
 * for it, while the node is away. Past it, what was queued for the node is gone.
 */
export const INGEST_SESSION_EXPIRY_S = 7 * 86400;

/** The topics the ingest nodes consume (architecture §4, device → Tether), as shared subscriptions of `group`. */
export function ingestSubscriptions(group: string): string[] {
  // MQTT-4.8.2: $share/{ShareName}/{filter}: each message goes to one subscriber of the group.
  return [...DEVICE_UPLINK_CHANNELS.map((c) => `devices/+/${c}`), 'devices/+/commands/+/result', 'devices/+/ota/status'].map((f) => `$share/${group}/${f}`);
}

/** A client id that stays the same across restarts of this node (same host, same data dir) and differs between nodes. */
export function defaultIngestClientId(dataDir: string): string {
  const host = os
    .hostname()
    .replace(/[^A-Za-z0-9_.-]/g, '-')
    .slice(0, 40);
  return `tether-ingest-${host}-${createHash('sha256').update(dataDir).digest('hex').slice(0, 10)}`;
}

/** MQTT 5 PUBACK reason codes for a refused message: acknowledged, so the broker does not send it again. */
const REASON_CODE: Record<RejectReason, number> = {
  malformed_json: PUBACK.payloadFormatInvalid,
  invalid_payload: PUBACK.payloadFormatInvalid,
  invalid_value: PUBACK.payloadFormatInvalid,
  invalid_timestamp: PUBACK.payloadFormatInvalid,
  too_large: PUBACK.payloadFormatInvalid,
  identity_mismatch: PUBACK.notAuthorized,
  not_authorized: PUBACK.notAuthorized,
  unknown_topic: PUBACK.topicNameInvalid,
};

export interface ExternalGatewayDeps {
  ingest: Pick<IngestService, 'accept' | 'reject'>;
  directory: DeviceDirectory;
  logger: Logger;
  url: string;
  clientId: string;
  shareGroup: string;
}

/**
 * The device protocol (architecture §4) through an external broker: the
 * broker authenticates devices and enforces their ACL; this node consumes
 * their messages from a shared subscription, stores each before its PUBACK
 * to the broker, and publishes commands, configuration and OTA jobs back through it.
 *
 * The broker does not tell Tether who is connected. A device counts as
 * listening for commands and OTA jobs here while it has sent this node something
 * within its inactivity timeout; a command or job for a device that is not is
 * left waiting, sent once it is heard from (here or on another ingest node), and
 * the broker's persistent session of the device (if it has one) queues what it
 * misses.
 */
export class ExternalGateway implements CommandChannel, OtaChannel {
  private client: ExternalMqttClient | null = null;
  private commands: CommandsService | null = null;
  private ota: Pick<OtaJobsService, 'deliverHere' | 'report'> | null = null;
  /** Device id → until when it counts as listening (ms since the epoch). */
  private readonly heardUntil = new Map<string, number>();

  constructor(private readonly deps: ExternalGatewayDeps) {}

  attach(commands: CommandsService, ota: OtaJobsService): void {
    this.commands = commands;
    commands.attachChannel(this);
    this.ota = ota;
    ota.attachChannel(this);
  }

  /** Connects and subscribes; throws ExternalBrokerError if the broker is unreachable or refuses. */
  async start(): Promise<void> {
    this.client = await ExternalMqttClient.connect({
      url: this.deps.url,
      clientId: this.deps.clientId,
      subscriptions: ingestSubscriptions(this.deps.shareGroup),
      sessionExpiryS: INGEST_SESSION_EXPIRY_S,
      logger: this.deps.logger,
      onMessage: (topic, payload) => this.receive(topic, payload),
    });
  }

  /** True while connected to the broker (readiness). */
  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /**
   * One device message: the PUBACK reason code once it is committed (0) or
   * refused for good; a rejection (database unavailable) sends no PUBACK.
   */
  private async receive(topic: string, payload: Buffer): Promise<number> {
    const parsed = parseDeviceTopic(topic);
    if (!parsed) return PUBACK.topicNameInvalid;
    const device = await this.deps.directory.lookup(parsed.deviceId);
    if (!device) {
      // Unknown or deleted: the broker let it in (stale credentials); storing is impossible, retrying useless.
      this.deps.ingest.reject(null, 'mqtt', new IngestRejection('not_authorized', `no device ${parsed.deviceId}`));
      return PUBACK.notAuthorized;
    }
    const identity = device.identity;
    this.heard(identity, device.inactivityTimeoutS);
    try {
      if (parsed.channel) {
        // MQTT-3.3.4-1 / architecture §4: the PUBACK to the broker only after the message is committed.
        await this.deps.ingest.accept(identity, parsed.channel, 'mqtt', payload, 'wait');
        return PUBACK.success;
      }
      const result = COMMAND_RESULT.exec(parsed.path);
      if (result && this.commands) {
        await this.commands.complete(identity, result[1]!, payload);
        return PUBACK.success;
      }
      if (parsed.path === 'ota/status' && this.ota) {
        try {
          await this.ota.report(identity, payload);
          return PUBACK.success;
        } catch (err) {
          if (!(err instanceof AppError)) throw err;
          throw new IngestRejection(err.code === 'OTA_JOB_NOT_FOUND' ? 'not_authorized' : 'invalid_payload', `${err.code}: ${err.message}`);
        }
      }
      const err = new IngestRejection('unknown_topic', `unknown device topic ${topic}`);
      this.deps.ingest.reject(identity.deviceId, 'mqtt', err);
      return REASON_CODE[err.reason];
    } catch (err) {
      if (!(err instanceof IngestRejection)) throw err;
      // ingest.accept counted its own rejections; a command result's are counted here.
      if (!parsed.channel) this.deps.ingest.reject(identity.deviceId, 'mqtt', err);
      return REASON_CODE[err.reason];
    }
  }

  /** The device was heard from: it counts as listening; if it did not, its queued commands and its open OTA job go now. */
  private heard(identity: DeviceIdentity, timeoutS: number): void {
    const now = Date.now();
    const until = this.heardUntil.get(identity.deviceId);
    this.heardUntil.set(identity.deviceId, now + timeoutS * 1000);
    if (until !== undefined && until > now) return;
    this.commands?.deliverPending(identity).catch((err: unknown) => this.deps.logger.warn({ err }, 'command delivery failed'));
    this.ota?.deliverHere([identity.deviceId]).catch((err: unknown) => this.deps.logger.warn({ err }, 'OTA job delivery failed'));
  }

  /** The device was deleted: forget it, and drop its retained configuration at the broker. */
  async deviceDeleted(deviceId: string): Promise<void> {
    this.heardUntil.delete(deviceId);
    // MQTT-3.3.1-10: a retained publish with an empty payload removes the retained message.
    await this.client?.publish(deviceTopic.config(deviceId), Buffer.alloc(0), true);
  }

  // CommandChannel

  isListening(deviceId: string): boolean {
    return (this.heardUntil.get(deviceId) ?? 0) > Date.now();
  }

  send(deviceId: string, commandId: string, message: CommandMessage): void {
    this.client
      ?.publish(deviceTopic.command(deviceId, commandId), JSON.stringify(message))
      .catch((err: unknown) => this.deps.logger.warn({ err, deviceId, commandId }, 'command publish to the external broker failed'));
  }

  // OtaChannel

  isListeningOta(deviceId: string): boolean {
    return this.isListening(deviceId);
  }

  sendOtaJob(deviceId: string, job: OtaJobMessage): void {
    this.client
      ?.publish(deviceTopic.ota(deviceId), JSON.stringify(job))
      .catch((err: unknown) => this.deps.logger.warn({ err, deviceId }, 'OTA job publish to the external broker failed'));
  }

  /**
   * Configuration, retained at the broker. Every ingest node publishes every
   * change it hears of: a retained publish of the same resolved configuration
   * is idempotent, and no node has to be the one that is up.
   */
  configDownlink(): ConfigDownlink {
    return {
      holds: () => this.client !== null,
      publish: async (deviceId, values) => {
        await this.client?.publish(deviceTopic.config(deviceId), JSON.stringify(values), true);
      },
      forget: async () => {},
    };
  }

  async close(): Promise<void> {
    await this.client?.close();
  }
}
