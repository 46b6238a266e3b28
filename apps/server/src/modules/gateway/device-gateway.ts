import type { Duplex } from 'node:stream';
import { deviceTopic, type CommandMessage, type OtaJobMessage } from '@tether/contracts';
import { MqttBroker, type MqttBrokerOptions } from '../../platform/mqtt/broker.js';
import { PublishWindows } from '../../platform/mqtt/publish-window.js';
import type { CommandChannel } from '../commands/commands.service.js';
import type { DeviceIdentity } from '../devices/devices.repository.js';
import type { DevicesService } from '../devices/devices.service.js';
import type { IngestService } from '../ingest/ingest.service.js';
import type { GatewayContext, GatewayHooks } from './context.js';
import type { Downlink } from './downlink.js';
import type { OtaChannel } from '../ota/ota-jobs.service.js';
import { redeliverCommands } from './handlers/commands.js';
import { redeliverOta } from './handlers/ota.js';
import type { Provisioner } from './handlers/provision.js';
import { ThingsboardTopics, type DeliverTo } from './handlers/thingsboard.js';
import { DeviceTopicRoutes } from './routes.js';
import { SessionRegistry, type DevicePresence, type DeviceSessions } from './sessions.js';

export type { GatewayHooks } from './context.js';
export type { DevicePresence } from './sessions.js';

export interface GatewayDeps extends Omit<MqttBrokerOptions, 'windows'> {
  devices: Pick<DevicesService, 'authenticate' | 'authenticateToken'>;
  /** Self-provisioning over MQTT (username `provision`); null: that username is refused like any bad credential. */
  provisioner: Provisioner | null;
  presence: DevicePresence;
  ingest: IngestService;
  /**
   * Publishes of one connection decoded and waiting for a commit at once, and
   * the Receive Maximum told to MQTT 5 clients. Later ones wait as parsed
   * packets; Aedes reads no more from the socket until they are answered.
   */
  receiveMaximum: number;
  /** Told to ThingsBoard SDKs (getSessionLimits), which split what is larger. */
  maxPayloadBytes: number;
}

/**
 * The device gateway: the device protocol (architecture §4) over the embedded
 * MQTT broker. Devices sign in with their credentials, publish under their own
 * topic tree (routes.ts) and get commands and their configuration. The rest of
 * Tether sees who is connected (DeviceSessions) and reaches devices through
 * Downlink; commands through CommandChannel.
 */
export class DeviceGateway implements DeviceSessions, Downlink, CommandChannel, OtaChannel {
  private constructor(
    private readonly broker: MqttBroker<DeviceIdentity>,
    private readonly ctx: GatewayContext,
  ) {}

  static async create(deps: GatewayDeps): Promise<DeviceGateway> {
    const { devices, provisioner, presence, ingest, receiveMaximum, maxPayloadBytes, ...options } = deps;
    const windows = new PublishWindows(receiveMaximum, ingest.budget.maxMessages);
    const sessions = new SessionRegistry(presence, deps.metrics);
    const ctx: GatewayContext = { ingest, windows, sessions, logger: deps.logger, hooks: {}, thingsboard: new ThingsboardTopics() };
    const broker = await MqttBroker.create({ ...options, windows }, new DeviceTopicRoutes(ctx, devices, provisioner));
    const deliver: DeliverTo = (session, topic, payload, maxQos) => broker.deliverTo(session, topic, Buffer.from(JSON.stringify(payload)), maxQos);
    ctx.thingsboard.bind(ctx, deliver, { maxPayloadSize: maxPayloadBytes, maxInflightMessages: receiveMaximum, rateLimits: {} });
    return new DeviceGateway(broker, ctx);
  }

  /** The Aedes instance (readiness: `aedes.closed`). */
  get aedes(): MqttBroker<DeviceIdentity>['aedes'] {
    return this.broker.aedes;
  }

  attach(hooks: GatewayHooks): void {
    this.ctx.hooks = hooks;
    hooks.commands?.attachChannel(this);
  }

  // DeviceSessions

  connectedDeviceIds(): Iterable<string> {
    return this.ctx.sessions.connectedDeviceIds();
  }

  holdsDevice(deviceId: string): boolean {
    return this.ctx.sessions.holdsDevice(deviceId);
  }

  /** Subscribed to its command topic (Tether's or ThingsBoard's RPC), or reachable through a ThingsBoard gateway here. */
  isListening(deviceId: string): boolean {
    return this.ctx.sessions.isListening(deviceId) || this.ctx.thingsboard.listensThroughGateway(deviceId);
  }

  isListeningOta(deviceId: string): boolean {
    return this.ctx.sessions.isListeningOta(deviceId);
  }

  /** Drops every connection of a device (credentials rotated or device deleted). */
  disconnectDevice(deviceId: string): void {
    this.ctx.sessions.disconnect(deviceId);
  }

  /** After an outage: commands queued and OTA jobs released meanwhile go to the devices listening here. */
  redeliverPending(): void {
    redeliverCommands(this.ctx);
    redeliverOta(this.ctx);
  }

  // Downlink

  /** On devices/{id}/commands/{commandId}, and as a ThingsBoard RPC request to the device's ThingsBoard connections and gateways. */
  send(deviceId: string, commandId: string, message: CommandMessage): void {
    this.broker.publish(deviceTopic.command(deviceId, commandId), Buffer.from(JSON.stringify(message)), 1);
    this.ctx.thingsboard.sendCommand(deviceId, commandId, message);
  }

  /** The device's resolved configuration: retained on devices/{id}/config, and its changed keys to ThingsBoard attribute subscribers. */
  async publishConfig(deviceId: string, values: Record<string, unknown>): Promise<void> {
    await this.broker.publishRetained(deviceTopic.config(deviceId), Buffer.from(JSON.stringify(values)));
    this.ctx.thingsboard.configChanged(deviceId, values);
  }

  sendOtaJob(deviceId: string, job: OtaJobMessage): void {
    this.broker.publish(deviceTopic.ota(deviceId), Buffer.from(JSON.stringify(job)), 1);
  }

  publishRetained(topic: string, payload: unknown): Promise<void> {
    return this.broker.publishRetained(topic, Buffer.from(JSON.stringify(payload)));
  }

  clearRetained(topic: string): Promise<void> {
    return this.broker.clearRetained(topic);
  }

  hasRetained(topic: string): boolean {
    return this.broker.hasRetained(topic);
  }

  // Transport

  /** MQTT over a WebSocket or any other stream. */
  handle(stream: Duplex, remoteAddress?: string): void {
    this.broker.handle(stream, remoteAddress);
  }

  listen(port: number, host: string, tlsOptions?: { cert: Buffer; key: Buffer }): Promise<number> {
    return this.broker.listen(port, host, tlsOptions);
  }

  /**
   * Shutdown, first step: no new connections, and no new device data, so
   * ingest can drain while devices still publish. Pending PUBACKs still go out.
   */
  stopAccepting(): void {
    this.broker.stopAccepting();
  }

  /** Stops accepting, then closes every client and the broker. */
  close(): Promise<void> {
    return this.broker.close();
  }
}
