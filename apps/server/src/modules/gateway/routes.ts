import { DEVICE_UPLINK_CHANNELS, parseDeviceTopic } from '@tether/contracts';
import type { MqttHandlers, MqttPublish, MqttSubscription } from '../../platform/mqtt/broker.js';
import type { DeviceIdentity } from '../devices/devices.repository.js';
import type { DevicesService } from '../devices/devices.service.js';
import { IngestRejection } from '../ingest/ingest-message.js';
import { refuse, type GatewayContext } from './context.js';
import { acceptCommandResult, commandAcked, commandsSubscribed } from './handlers/commands.js';
import { configSubscribed } from './handlers/config.js';
import { acceptData } from './handlers/data.js';
import { acceptOtaStatus, otaSubscribed } from './handlers/ota.js';
import { ThingsboardTopics } from './handlers/thingsboard.js';
import { acceptProvisionRequest, PROVISION_RESPONSE_TOPIC, PROVISION_USERNAME, provisioningIdentity, type Provisioner } from './handlers/provision.js';
import type { DeviceSession } from './sessions.js';

/** Paths under devices/{own id}/ (see the table below). */
const COMMAND_RESULT = /^commands\/([^/]+)\/result$/;
const COMMAND = /^commands\/([^/]+)$/;
const COMMAND_SUBSCRIPTION = /^commands\/(\+|#|[^/+#]+)$/;
const DEVICE_SUBSCRIBE_PATHS = [/^config$/, COMMAND_SUBSCRIPTION, /^commands\/#$/, /^ota$/, /^#$/];

/**
 * The access rule of the device topic table, for a broker that is not Tether's
 * own (its ACL asks Tether: broker-auth.routes.ts). True when the device may
 * publish to, or subscribe to, the topic. Identity comes from the topic, so
 * ThingsBoard's `v1/devices/me/…` topics are refused there.
 */
export function deviceMay(deviceId: string, action: 'publish' | 'subscribe', topic: string): boolean {
  const parsed = parseDeviceTopic(topic);
  if (!parsed || parsed.deviceId.toLowerCase() !== deviceId.toLowerCase()) return false;
  if (action === 'subscribe') return DEVICE_SUBSCRIBE_PATHS.some((re) => re.test(parsed.path));
  return parsed.channel !== null || COMMAND_RESULT.test(parsed.path) || parsed.path === 'ota/status';
}

/**
 * deviceMay as topic filters, for a broker whose ACL is a list per client
 * (Mosquitto's dynamic security: broker-credentials.ts). `publish`: filters a
 * published topic must match; `subscribeLiteral`: subscriptions allowed as
 * written; `subscribePattern`: filters a subscription must fall within. The
 * test holds them to deviceMay.
 */
export function deviceAclFilters(deviceId: string): { publish: string[]; subscribeLiteral: string[]; subscribePattern: string[] } {
  const tree = `devices/${deviceId}`;
  return {
    publish: [...DEVICE_UPLINK_CHANNELS.map((c) => `${tree}/${c}`), `${tree}/commands/+/result`, `${tree}/ota/status`],
    subscribeLiteral: [`${tree}/config`, `${tree}/commands/#`, `${tree}/ota`, `${tree}/#`],
    // commands/+ and commands/{one command id}
    subscribePattern: [`${tree}/commands/+`],
  };
}

/**
 * The device topic table (architecture §4): what a topic a device publishes,
 * subscribes to or receives means, and which handler takes it.
 *
 * Publishes (device → Tether):
 * - devices/{own id}/{telemetry,alerts,heartbeat,location,attributes}: handlers/data.ts
 * - v1/devices/me/… and v1/gateway/… (ThingsBoard): handlers/thingsboard.ts
 * - devices/{own id}/commands/{commandId}/result: handlers/commands.ts
 * - devices/{own id}/ota/status: handlers/ota.ts
 * - anything else: refused, unknown_topic in its own tree, not_authorized outside it
 *
 * A connection signed in as `provision` (no password) is no device: it may
 * publish one request to /provision/request and hear only /provision/response
 * (handlers/provision.ts).
 *
 * Subscriptions: devices/{own id}/ config, commands/+, commands/{id},
 * commands/#, ota and #, at QoS 0 or 1; a command, config or ota subscription
 * starts delivery (handlers/commands.ts, handlers/config.ts, handlers/ota.ts);
 * and THINGSBOARD_SUBSCRIPTIONS. A device receives nothing outside its own
 * tree but what is sent to its connection alone on the ThingsBoard topics.
 */
export class DeviceTopicRoutes implements MqttHandlers<DeviceIdentity> {
  constructor(
    private readonly ctx: GatewayContext,
    private readonly devices: Pick<DevicesService, 'authenticate' | 'authenticateToken'>,
    private readonly provisioner: Provisioner | null,
  ) {}

  authenticate(username: string | undefined, password: Buffer | undefined): Promise<DeviceIdentity | null> {
    const secret = password ? password.toString('utf8') : '';
    if (username === PROVISION_USERNAME && !secret && this.provisioner) return Promise.resolve(provisioningIdentity());
    // Tether style: username = device id, password = token or JWT. ThingsBoard style: username = token.
    return secret ? this.devices.authenticate(username ?? '', secret) : this.devices.authenticateToken(username ?? '');
  }

  publish(session: DeviceSession, packet: MqttPublish, done: (err: Error | null) => void): void {
    const ctx = this.ctx;
    const identity = session.identity;
    if (identity.provisioning) return acceptProvisionRequest(this.provisioner!, session, packet, done);
    // Tether offers QoS 0 and 1 (architecture §4); refusing QoS 2 also keeps the broker's
    // inbound QoS 2 store empty.
    if (packet.qos === 2) return refuse(ctx, identity, new IngestRejection('invalid_payload', 'QoS 2 is not supported; publish with QoS 0 or 1'), done);
    const topic = packet.topic;
    if (ThingsboardTopics.isTopic(topic)) return ctx.thingsboard.publish(session, packet, done);
    const parsed = parseDeviceTopic(topic);
    if (!parsed || parsed.deviceId.toLowerCase() !== identity.deviceId) {
      // ACL: a device writes only under devices/{its own id}/.
      return refuse(ctx, identity, new IngestRejection('not_authorized', `publish to ${topic} is outside devices/${identity.deviceId}/`), done);
    }
    if (parsed.channel) return acceptData(ctx, session, parsed.channel, packet, done);
    const commands = ctx.hooks.commands;
    const result = commands ? COMMAND_RESULT.exec(parsed.path) : null;
    if (result) return acceptCommandResult(ctx, commands!, identity, result[1]!, packet, done);
    if (parsed.path === 'ota/status') return acceptOtaStatus(ctx, identity, packet, done);
    return refuse(ctx, identity, new IngestRejection('unknown_topic', `unknown device topic ${topic}`), done);
  }

  subscribe(identity: DeviceIdentity, sub: MqttSubscription): MqttSubscription | null {
    if (identity.provisioning) return sub.topic === PROVISION_RESPONSE_TOPIC ? { ...sub, qos: 0 } : null;
    if (!ThingsboardTopics.maySubscribe(sub.topic) && !deviceMay(identity.deviceId, 'subscribe', sub.topic)) return null;
    return sub.qos > 1 ? { ...sub, qos: 1 } : sub;
  }

  /**
   * Defense in depth: never deliver another device's tree to a device. A
   * ThingsBoard topic names no device: only what is sent to this connection alone.
   */
  mayReceive(identity: DeviceIdentity, topic: string, direct: boolean): boolean {
    if (identity.provisioning) return topic === PROVISION_RESPONSE_TOPIC;
    if (ThingsboardTopics.isTopic(topic)) return direct;
    const parsed = parseDeviceTopic(topic);
    return parsed !== null && parsed.deviceId.toLowerCase() === identity.deviceId;
  }

  opened(session: DeviceSession): void {
    if (session.identity.provisioning) return;
    this.ctx.sessions.opened(session);
  }

  closed(session: DeviceSession): void {
    if (session.identity.provisioning) return;
    this.ctx.thingsboard.closed(session);
    this.ctx.sessions.closed(session);
  }

  subscribed(session: DeviceSession, subscriptions: readonly MqttSubscription[]): void {
    const identity = session.identity;
    if (identity.provisioning) return;
    for (const sub of subscriptions) {
      if (ThingsboardTopics.maySubscribe(sub.topic)) this.ctx.thingsboard.subscribed(session, sub.topic);
      const parsed = parseDeviceTopic(sub.topic);
      if (!parsed || parsed.deviceId.toLowerCase() !== identity.deviceId) continue;
      if (COMMAND_SUBSCRIPTION.test(parsed.path) || parsed.path === '#') commandsSubscribed(this.ctx, session);
      if (parsed.path === 'config' || parsed.path === '#') configSubscribed(this.ctx, identity);
      if (parsed.path === 'ota' || parsed.path === '#') otaSubscribed(this.ctx, session);
    }
  }

  acked(session: DeviceSession, topic: string): void {
    if (session.identity.provisioning) return;
    if (ThingsboardTopics.isTopic(topic)) return this.ctx.thingsboard.acked(session, topic);
    const parsed = parseDeviceTopic(topic);
    const m = parsed && COMMAND.exec(parsed.path);
    if (m) commandAcked(this.ctx, session.identity, m[1]!);
  }
}
