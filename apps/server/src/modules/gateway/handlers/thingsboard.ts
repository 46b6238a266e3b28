import { THINGSBOARD_SUBSCRIPTIONS, thingsboardTopic as TB, type CommandMessage, type UplinkChannel } from '@tether/contracts';
import type { MqttPublish } from '../../../platform/mqtt/broker.js';
import type { DeviceIdentity } from '../../devices/devices.repository.js';
import { IngestRejection } from '../../ingest/ingest-message.js';
import { refuse, type GatewayContext } from '../context.js';
import type { DeviceSession } from '../sessions.js';
import { commandAcked, commandsSubscribed } from './commands.js';
import { acceptData } from './data.js';

/**
 * ThingsBoard-compatible device topics (architecture §4; README, Device
 * protocol), so ThingsBoard firmware and SDKs work unchanged. The device is the
 * connection's (its access token was the MQTT username), not named in the
 * topic, so everything sent on these topics goes to one connection alone
 * (MqttBroker.deliverTo); a fan-out would reach every device subscribed.
 *
 * - v1/devices/me/telemetry, v1/devices/me/attributes: device data (data.ts).
 * - Server-side RPC: a Tether command is sent on v1/devices/me/rpc/request/{n}
 *   as {"method","params"}; the answer on v1/devices/me/rpc/response/{n}
 *   completes it with the answer as its result. {n} counts per device on this node.
 * - Client-side RPC: v1/devices/me/rpc/request/{n} {"method":"getCurrentTime"}
 *   (or getSessionLimits) is answered on v1/devices/me/rpc/response/{n}; other
 *   methods get {"error":…}.
 * - v1/devices/me/attributes/request/{n} {"clientKeys","sharedKeys"}: answered on
 *   …/response/{n} with reported attributes (client) and configuration (shared).
 *   Configuration changes go to v1/devices/me/attributes as the changed keys.
 * - v1/gateway/…: a device marked `isGateway` in its metadata publishes for
 *   devices it names, of its org and project (created when unknown).
 */

/** ThingsBoard request ids are small integers. */
const RPC_ID = /^[0-9]{1,9}$/;
/** Oldest request ids are forgotten past this many per device: a device answers within a command's timeout. */
const MAX_OPEN_IDS = 1000;
const MAX_NAME = 200;

/** A rejection ingest has counted already, naming the gateway's device whose data it was. */
class CountedRejection extends IngestRejection {}

/** What the ThingsBoard topics need from the rest of Tether (main.ts wires the services). */
export interface ThingsboardBackend {
  /** Reported attributes, key → value (TB client attributes). */
  clientAttributes(device: DeviceIdentity): Promise<Record<string, unknown>>;
  /** Resolved configuration, key → value (TB shared attributes). */
  sharedAttributes(device: DeviceIdentity): Promise<Record<string, unknown>>;
  isGateway(device: DeviceIdentity): Promise<boolean>;
  /** The device a gateway names (created when unknown, of `type` when given), in the gateway's org and project. */
  gatewayChild(gateway: DeviceIdentity, name: string, type?: string): Promise<DeviceIdentity>;
}

/** ThingsBoard's small integer RPC ids ↔ Tether command ids, per device: survives the device's reconnects on this node. */
class RpcIds {
  private next = 1;
  private readonly byId = new Map<number, string>();
  private readonly byCommand = new Map<string, number>();

  idFor(commandId: string): number {
    const known = this.byCommand.get(commandId);
    if (known !== undefined) return known;
    const id = this.next++;
    this.byId.set(id, commandId);
    this.byCommand.set(commandId, id);
    if (this.byId.size > MAX_OPEN_IDS) {
      const [oldId, oldCommand] = this.byId.entries().next().value as [number, string];
      this.byId.delete(oldId);
      this.byCommand.delete(oldCommand);
    }
    return id;
  }

  command(id: number): string | undefined {
    return this.byId.get(id);
  }
}

/** A gateway connection: the devices it connected, by name and by id, and its RPC publishes awaiting a PUBACK, in order. */
interface GatewayState {
  /** Read on the first gateway publish of the connection (null: not yet). */
  isGateway: boolean | null;
  /** Subscribed to v1/gateway/rpc: its devices' commands are sent to it. */
  listensRpc: boolean;
  children: Map<string, DeviceIdentity>;
  names: Map<string, string>;
  unacked: { child: DeviceIdentity; commandId: string }[];
}

/**
 * The answer to the getSessionLimits RPC ThingsBoard's SDKs send on connect: they
 * split larger payloads and keep fewer publishes in flight. No rate limits: Tether's
 * ingest quota and publish windows slow a device down instead.
 */
export interface SessionLimits {
  maxPayloadSize: number;
  maxInflightMessages: number;
  rateLimits: Record<string, string>;
}

/** MqttBroker.deliverTo with a JSON payload: the QoS sent at, or null (not subscribed). */
export type DeliverTo = (session: DeviceSession, topic: string, payload: unknown, maxQos: 0 | 1) => 0 | 1 | null;

export class ThingsboardTopics {
  private ctx!: GatewayContext;
  private deliver!: DeliverTo;
  private sessionLimits!: SessionLimits;
  private readonly rpcIds = new Map<string, RpcIds>();
  /** Sessions subscribed to v1/devices/me/rpc/request/+, by device. */
  private readonly rpcListeners = new Map<string, Set<DeviceSession>>();
  /** Sessions subscribed to v1/devices/me/attributes, by device, and the configuration they last had. */
  private readonly attributeListeners = new Map<string, Set<DeviceSession>>();
  private readonly sharedSent = new Map<string, Record<string, unknown>>();
  private readonly gateways = new WeakMap<DeviceSession, GatewayState>();
  /** Gateway sessions subscribed to v1/gateway/rpc holding a connected child, by child device id. */
  private readonly childListeners = new Map<string, Set<DeviceSession>>();

  /** Once the broker exists (the context holds this object, the broker the context). */
  bind(ctx: GatewayContext, deliver: DeliverTo, sessionLimits: SessionLimits): void {
    this.ctx = ctx;
    this.deliver = deliver;
    this.sessionLimits = sessionLimits;
  }

  static isTopic(topic: string): boolean {
    return topic.startsWith('v1/');
  }

  static maySubscribe(filter: string): boolean {
    return (THINGSBOARD_SUBSCRIPTIONS as readonly string[]).includes(filter);
  }

  private get backend(): ThingsboardBackend | undefined {
    return this.ctx.hooks.thingsboard;
  }

  publish(session: DeviceSession, packet: MqttPublish, done: (err: Error | null) => void): void {
    const { ctx } = this;
    const identity = session.identity;
    const topic = packet.topic;
    if (topic === TB.telemetry) return acceptData(ctx, session, 'telemetry', packet, done);
    if (topic === TB.attributes) return acceptData(ctx, session, 'attributes', packet, done);
    const bad = (reason: ConstructorParameters<typeof IngestRejection>[0], message: string) =>
      refuse(ctx, identity, new IngestRejection(reason, message), done);
    const run = (work: () => Promise<void>) =>
      work().then(
        () => done(null),
        (err: unknown) => {
          if (err instanceof IngestRejection) return refuse(ctx, identity, err, done);
          ctx.logger.warn({ err, topic }, 'ThingsBoard request failed');
          done(new Error('storage unavailable'));
        },
      );
    const backend = this.backend;
    if (!backend) return bad('unknown_topic', 'ThingsBoard topics are not served by this node');
    for (const [prefix, handler] of [
      [TB.rpcRequestPrefix, (id: number, body: unknown) => this.clientRpc(session, id, body)],
      [TB.rpcResponsePrefix, (id: number, body: unknown) => this.rpcAnswer(identity, id, body)],
      [TB.attributesRequestPrefix, (id: number, body: unknown) => this.attributesRequest(session, id, body)],
    ] as const) {
      if (!topic.startsWith(prefix)) continue;
      const id = topic.slice(prefix.length);
      if (!RPC_ID.test(id)) return bad('unknown_topic', `${prefix}{id}: the id must be a number, not "${id}"`);
      const body = parse(packet.payload);
      if (body instanceof IngestRejection) return refuse(ctx, identity, body, done);
      run(() => handler(Number(id), body));
      return;
    }
    if (topic.startsWith('v1/gateway/')) return this.gatewayPublish(session, packet, done);
    return bad('unknown_topic', `unknown ThingsBoard topic ${topic}`);
  }

  /** A ThingsBoard subscription was granted: RPC listening starts command delivery; attributes remember the configuration sent. */
  subscribed(session: DeviceSession, filter: string): void {
    const { identity } = session;
    if (filter === `${TB.rpcRequestPrefix}+`) {
      add(this.rpcListeners, identity.deviceId, session);
      commandsSubscribed(this.ctx, session);
    } else if (filter === TB.attributes) {
      add(this.attributeListeners, identity.deviceId, session);
      this.backend
        ?.sharedAttributes(identity)
        .then((values) => {
          if (!this.sharedSent.has(identity.deviceId)) this.sharedSent.set(identity.deviceId, values);
        })
        .catch((err: unknown) => this.ctx.logger.warn({ err }, 'could not read device configuration'));
    } else if (filter === TB.gatewayRpc) {
      const state = this.gateway(session);
      state.listensRpc = true;
      for (const child of state.children.values()) this.childListening(session, child);
    }
  }

  closed(session: DeviceSession): void {
    const { deviceId } = session.identity;
    remove(this.rpcListeners, deviceId, session);
    if (remove(this.attributeListeners, deviceId, session) && !this.attributeListeners.has(deviceId)) this.sharedSent.delete(deviceId);
    for (const child of this.gateways.get(session)?.children.values() ?? []) remove(this.childListeners, child.deviceId, session);
  }

  /** The device PUBACKed a publish sent to it on a ThingsBoard topic: an RPC request means its command was delivered. */
  acked(session: DeviceSession, topic: string): void {
    const { identity } = session;
    if (topic.startsWith(TB.rpcRequestPrefix)) {
      const commandId = this.rpcIds.get(identity.deviceId)?.command(Number(topic.slice(TB.rpcRequestPrefix.length)));
      if (commandId) commandAcked(this.ctx, identity, commandId);
    } else if (topic === TB.gatewayRpc) {
      const sent = this.gateways.get(session)?.unacked.shift();
      if (sent) commandAcked(this.ctx, sent.child, sent.commandId);
    }
  }

  /** Whether a device is reachable through a gateway connected here. */
  listensThroughGateway(deviceId: string): boolean {
    return (this.childListeners.get(deviceId)?.size ?? 0) > 0;
  }

  /** A command for the device: sent as a ThingsBoard RPC request to its own connections and to gateways holding it. */
  sendCommand(deviceId: string, commandId: string, message: CommandMessage): void {
    const direct = this.rpcListeners.get(deviceId);
    const through = this.childListeners.get(deviceId);
    if (!direct?.size && !through?.size) return;
    const id = this.ids(deviceId).idFor(commandId);
    const request = { method: message.name, params: message.params };
    for (const s of direct ?? []) this.deliver(s, `${TB.rpcRequestPrefix}${id}`, request, 1);
    for (const s of through ?? []) {
      const state = this.gateways.get(s);
      const name = state?.names.get(deviceId);
      if (!state || name === undefined) continue;
      const child = state.children.get(name)!;
      if (this.deliver(s, TB.gatewayRpc, { device: name, data: { id, ...request } }, 1) === 1) state.unacked.push({ child, commandId });
    }
  }

  /** The device's configuration changed: its ThingsBoard attribute subscribers get the changed keys, and the deleted ones as {"deleted":[…]}. */
  configChanged(deviceId: string, values: Record<string, unknown>): void {
    const sessions = this.attributeListeners.get(deviceId);
    if (!sessions?.size) return;
    const before = this.sharedSent.get(deviceId) ?? {};
    this.sharedSent.set(deviceId, values);
    const changed = Object.fromEntries(Object.entries(values).filter(([k, v]) => JSON.stringify(before[k]) !== JSON.stringify(v)));
    const deleted = Object.keys(before).filter((k) => !(k in values));
    for (const s of sessions) {
      if (Object.keys(changed).length) this.deliver(s, TB.attributes, changed, 1);
      if (deleted.length) this.deliver(s, TB.attributes, { deleted }, 1);
    }
  }

  private ids(deviceId: string): RpcIds {
    let ids = this.rpcIds.get(deviceId);
    if (!ids) this.rpcIds.set(deviceId, (ids = new RpcIds()));
    return ids;
  }

  /** The device's answer to a server-side RPC completes its command, the answer as the result. */
  private async rpcAnswer(device: DeviceIdentity, id: number, body: unknown): Promise<void> {
    const commandId = this.rpcIds.get(device.deviceId)?.command(id);
    if (!commandId) throw new IngestRejection('not_authorized', `no RPC request ${id} was sent to this device`);
    await this.commands().complete(device, commandId, { status: 'ok', result: body });
  }

  /** Client-side RPC: the device asks, Tether answers on v1/devices/me/rpc/response/{id}; never a refusal for the method. */
  private async clientRpc(session: DeviceSession, id: number, body: unknown): Promise<void> {
    const method = isObject(body) ? body.method : undefined;
    if (typeof method !== 'string') throw new IngestRejection('invalid_payload', 'an RPC request is {"method":"…","params":…}');
    const reply =
      method === 'getCurrentTime'
        ? { time: Date.now() }
        : method === 'getSessionLimits'
          ? this.sessionLimits
          : { error: `unsupported RPC method "${method.slice(0, 100)}": Tether answers getCurrentTime and getSessionLimits` };
    this.deliver(session, `${TB.rpcResponsePrefix}${id}`, reply, 1);
  }

  /** {"clientKeys":"a,b","sharedKeys":"c"} (strings or arrays; neither: all of both) → {"client":{…},"shared":{…}}. */
  private async attributesRequest(session: DeviceSession, id: number, body: unknown): Promise<void> {
    if (!isObject(body)) throw new IngestRejection('invalid_payload', 'an attribute request is {"clientKeys":"a,b","sharedKeys":"c"}');
    const clientKeys = keyList(body.clientKeys, 'clientKeys');
    const sharedKeys = keyList(body.sharedKeys, 'sharedKeys');
    const all = clientKeys === undefined && sharedKeys === undefined;
    const backend = this.backend!;
    const reply: Record<string, Record<string, unknown>> = {};
    if (all || clientKeys) reply.client = pick(await backend.clientAttributes(session.identity), clientKeys);
    if (all || sharedKeys) reply.shared = pick(await backend.sharedAttributes(session.identity), sharedKeys);
    this.deliver(session, `${TB.attributesResponsePrefix}${id}`, reply, 1);
  }

  private commands() {
    const commands = this.ctx.hooks.commands;
    if (!commands) throw new IngestRejection('unknown_topic', 'commands are not served by this node');
    return commands;
  }

  // Gateway API

  /** The connection's gateway state. */
  private gateway(session: DeviceSession): GatewayState {
    let state = this.gateways.get(session);
    if (!state) {
      state = { isGateway: null, listensRpc: false, children: new Map(), names: new Map(), unacked: [] };
      this.gateways.set(session, state);
    }
    return state;
  }

  private gatewayPublish(session: DeviceSession, packet: MqttPublish, done: (err: Error | null) => void): void {
    const { ctx } = this;
    const identity = session.identity;
    const gw = this.gateway(session);
    const payload = packet.payload as Buffer;
    // Like device data: the connection's publish window bounds what waits for a commit.
    ctx.windows.enter(session, payload.length + packet.topic.length + 6, () => {
      this.gatewayMessage(session, gw, packet.topic, payload).then(
        () => {
          ctx.windows.done(session);
          done(null);
        },
        (err: unknown) => {
          ctx.windows.done(session);
          if (err instanceof IngestRejection) return refuse(ctx, identity, err, done, err instanceof CountedRejection);
          ctx.logger.warn({ err }, 'ThingsBoard gateway message failed');
          done(new Error('storage unavailable'));
        },
      );
    });
  }

  private async gatewayMessage(session: DeviceSession, gw: GatewayState, topic: string, payload: Buffer): Promise<void> {
    gw.isGateway ??= await this.backend!.isGateway(session.identity);
    if (!gw.isGateway) throw new IngestRejection('not_authorized', 'this device is not a gateway: set "isGateway": true in its metadata');
    const body = parse(payload);
    if (body instanceof IngestRejection) throw body;
    if (!isObject(body)) throw new IngestRejection('invalid_payload', `${topic} takes a JSON object`);
    switch (topic) {
      case TB.gatewayConnect:
        // {"device","type"}: ThingsBoard gives a device it creates here that type (its profile); a known device keeps its own.
        await this.connectChild(session, gw, deviceName(body.device), deviceType(body.type));
        return;
      case TB.gatewayDisconnect: {
        const name = deviceName(body.device);
        const child = gw.children.get(name);
        if (!child) return;
        gw.children.delete(name);
        gw.names.delete(child.deviceId);
        remove(this.childListeners, child.deviceId, session);
        return;
      }
      case TB.gatewayTelemetry:
      case TB.gatewayAttributes: {
        const channel: UplinkChannel = topic === TB.gatewayTelemetry ? 'telemetry' : 'attributes';
        // Every device's data committed before the PUBACK, one device after another.
        for (const [name, data] of Object.entries(body)) {
          const child = await this.connectChild(session, gw, deviceName(name));
          try {
            await this.ctx.ingest.accept(child, channel, 'mqtt', JSON.stringify(data), 'wait');
          } catch (err) {
            if (err instanceof IngestRejection) throw new CountedRejection(err.reason, `device "${name}": ${err.message}`);
            throw err;
          }
        }
        return;
      }
      case TB.gatewayRpc: {
        const name = deviceName(body.device);
        const child = gw.children.get(name) ?? (await this.connectChild(session, gw, name));
        if (typeof body.id !== 'number' || !Number.isInteger(body.id))
          throw new IngestRejection('invalid_payload', 'a gateway RPC answer is {"device","id":<number>,"data"}');
        await this.rpcAnswer(child, body.id, body.data ?? null);
        return;
      }
      default:
        throw new IngestRejection('unknown_topic', `unknown ThingsBoard gateway topic ${topic}`);
    }
  }

  /** The gateway speaks for the named device: found or created, and sent its pending commands if the gateway listens for RPC. */
  private async connectChild(session: DeviceSession, gw: GatewayState, name: string, type?: string): Promise<DeviceIdentity> {
    const known = gw.children.get(name);
    if (known) return known;
    const child = await this.backend!.gatewayChild(session.identity, name, type);
    if (child.deviceId === session.identity.deviceId) throw new IngestRejection('invalid_payload', `"${name}" is the gateway itself`);
    gw.children.set(name, child);
    gw.names.set(child.deviceId, name);
    if (gw.listensRpc) this.childListening(session, child);
    return child;
  }

  private childListening(session: DeviceSession, child: DeviceIdentity): void {
    if (!add(this.childListeners, child.deviceId, session)) return;
    this.ctx.hooks.commands?.deliverPending(child, { newSession: true }).catch((err: unknown) => this.ctx.logger.warn({ err }, 'command delivery failed'));
  }
}

function parse(payload: Buffer | string): unknown {
  try {
    return JSON.parse(payload.toString());
  } catch {
    return new IngestRejection('malformed_json', 'payload is not valid JSON');
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deviceName(v: unknown): string {
  if (typeof v !== 'string' || !v.trim() || v.length > MAX_NAME)
    throw new IngestRejection('invalid_payload', `a device name is a string of 1 to ${MAX_NAME} characters`);
  return v.trim();
}

function deviceType(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.length > MAX_NAME) throw new IngestRejection('invalid_payload', `a device type is a string of at most ${MAX_NAME} characters`);
  return v.trim() || undefined;
}

function keyList(v: unknown, field: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string')
    return v
      .split(',')
      .map((k) => k.trim())
      .filter(Boolean);
  if (Array.isArray(v) && v.every((k) => typeof k === 'string')) return v;
  throw new IngestRejection('invalid_payload', `${field} is a comma-separated string or an array of strings`);
}

function pick(values: Record<string, unknown>, keys: string[] | undefined): Record<string, unknown> {
  if (!keys) return values;
  return Object.fromEntries(keys.filter((k) => Object.hasOwn(values, k)).map((k) => [k, values[k]]));
}

function add(map: Map<string, Set<DeviceSession>>, key: string, session: DeviceSession): boolean {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  if (set.has(session)) return false;
  set.add(session);
  return true;
}

function remove(map: Map<string, Set<DeviceSession>>, key: string, session: DeviceSession): boolean {
  const set = map.get(key);
  if (!set?.delete(session)) return false;
  if (set.size === 0) map.delete(key);
  return true;
}
