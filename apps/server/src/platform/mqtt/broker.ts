import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { Aedes, type Client, type AuthenticateError } from 'aedes';
import { deviceTopic, parseDeviceTopic, thingsboardTopic, type CommandMessage, type UplinkChannel } from '@tether/contracts';
import { LISTEN_BACKLOG } from '../../config/config.js';
import type { CommandChannel, CommandsService } from '../../modules/commands/commands.service.js';
import type { DeviceIdentity } from '../../modules/devices/devices.repository.js';
import type { DevicesService } from '../../modules/devices/devices.service.js';
import { IngestRejection } from '../../modules/ingest/ingest-message.js';
import type { IngestService } from '../../modules/ingest/ingest.service.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { BoundedReads } from './bounded-reads.js';
import { isDatabaseUnavailable } from '../db/database.js';
import { ConnectThrottle } from './connect-throttle.js';
import { ConnectionLimits, type ConnectionCaps } from './connection-limits.js';

type TetherClient = Client & {
  tether?: DeviceIdentity;
  /** Topics of QoS 1 publishes sent to this client and not yet PUBACKed, oldest first. */
  tetherUnacked?: string[];
  /** Publishes of this client being decoded and committed (at most `receiveMaximum`). */
  tetherInProgress?: number;
  /** Its further publishes, parsed but not yet looked at, oldest first. */
  tetherHeld?: (() => void)[];
};

/**
 * Bytes Aedes gets per read of a connection: a few dozen small publishes, not
 * a whole socket read (up to 64 KB, hundreds of them). A busy connection is not
 * slowed by it: the next piece follows as soon as its window has room.
 */
const READ_BYTES = 4 * 1024;

/** Far more than any device keeps in flight; a client that never acks cannot grow it further. */
const MAX_UNACKED_TRACKED = 1000;

/** Where the broker reports a device's first connection and its last disconnect here (the presence service). */
export interface DevicePresence {
  changed(device: DeviceIdentity): Promise<void>;
}

export interface BrokerDeps {
  devices: DevicesService;
  presence: DevicePresence;
  ingest: IngestService;
  logger: Logger;
  metrics: Metrics;
  /** Bad-credential CONNECTs a minute from one IP answered at once; later ones wait. */
  authFailuresPerMinute: number;
  /** Successful CONNECTs a minute of one device answered at once; later ones wait (0: no limit). */
  connectsPerDevicePerMinute: number;
  /**
   * Publishes of one connection decoded and waiting for a commit at once, and
   * the Receive Maximum told to MQTT 5 clients. Later ones wait as parsed
   * packets; Aedes reads no more from the socket until they are answered.
   */
  receiveMaximum: number;
  /** Largest MQTT packet read: past it, the connection is dropped (MQTT 5: DISCONNECT 0x95) before the body is buffered. */
  maximumPacketSize: number;
  connectionCaps: ConnectionCaps;
  /** Bytes written to one client and not yet taken by its network past which it counts as not reading, and is dropped. */
  maxOutgoingBytes: number;
  /** How long bytes written to a client may wait with none taken before it counts as not reading, and is dropped. */
  slowReaderTimeoutMs: number;
  /**
   * How long a CONNECT waits for the database to check its credentials before the
   * connection is closed unanswered (the client then reconnects by itself).
   */
  connectHoldMs: number;
}

/** Topics a device may publish to besides its data channels: OTA status (command results are handled below). */
const DEVICE_REPLY_PATHS = [/^ota\/status$/];
const COMMAND_RESULT = /^commands\/([^/]+)\/result$/;
const COMMAND_TOPIC = /^commands\/(\+|#|[^/+#]+)$/;

/** Hooks for what a device's subscriptions and acks mean to the rest of Tether. */
export interface BrokerHooks {
  commands?: CommandsService;
  /** The device subscribed to its config topic: send it the resolved configuration. */
  onConfigSubscribe?(device: DeviceIdentity): void;
}
/** Topics a device may subscribe to, under its own tree. */
const DEVICE_SUBSCRIBE_PATHS = [/^config$/, /^commands\/(\+|#|[^/+#]+)$/, /^commands\/#$/, /^ota$/, /^#$/];

/**
 * The embedded MQTT broker (Aedes 2, MQTT 3.1, 3.1.1 and 5): device
 * authentication, ACL and ingest. A refused publish closes a 3.1.1 connection
 * (MQTT-3.3.5-2); an MQTT 5 client gets PUBACK 0x87 with the reason string and
 * stays connected.
 */
export class EmbeddedBroker implements CommandChannel {
  readonly aedes: Aedes;
  private readonly byDevice = new Map<string, Set<TetherClient>>();
  /** Clients subscribed to their command topic. */
  private readonly commandListeners = new Map<string, Set<TetherClient>>();
  private hooks: BrokerHooks = {};
  private servers: net.Server[] = [];
  private stopping = false;
  private readonly retainedTopics = new Set<string>();
  /** Publishes parsed and not yet answered, over every connection (see mayRead). */
  private parsed = 0;
  /** Connections refused more bytes because `parsed` reached the ingest budget, oldest first. */
  private readonly starved = new Set<BoundedReads>();
  /** Bad-credential CONNECTs per client IP: past a few a minute, each refusal is answered late. */
  private readonly connectFailures: ConnectThrottle;
  private readonly deviceConnects: ConnectThrottle;
  private lastAuthWaitWarnAt = 0;
  private readonly limits: ConnectionLimits;
  /** Connections counted by `limits` and the peer address they were counted under; `pending` until signed in. */
  private readonly counted = new WeakMap<object, { ip: string; pending: boolean }>();

  private constructor(
    aedes: Aedes,
    private readonly deps: BrokerDeps,
  ) {
    this.aedes = aedes;
    this.connectFailures = new ConnectThrottle(deps.authFailuresPerMinute);
    this.deviceConnects = new ConnectThrottle(deps.connectsPerDevicePerMinute);
    this.limits = new ConnectionLimits(deps.connectionCaps);
  }

  static async create(deps: BrokerDeps): Promise<EmbeddedBroker> {
    const aedes = await Aedes.createBroker({
      // Ingest holds each client's publish callback until commit; this only caps broker-side fan-out.
      concurrency: 1000,
      queueLimit: 100,
      connectTimeout: 10_000,
      // Never reached: BoundedReads reports every write as taken, and drops a client that does not read itself.
      drainTimeout: 30_000,
      maxTopicLevels: 16,
      heartbeatInterval: 60_000,
      // MQTT-3.2.2.3.3: advertised in the CONNACK; see publishDone for what a client that sends more gets.
      receiveMaximum: deps.receiveMaximum,
      // MQTT-3.2.2-15: checked on the fixed header, before the rest of the packet is buffered; advertised in the CONNACK.
      maximumPacketSize: deps.maximumPacketSize,
    });
    const broker = new EmbeddedBroker(aedes, deps);
    broker.install();
    return broker;
  }

  attach(hooks: BrokerHooks): void {
    this.hooks = hooks;
    hooks.commands?.attachChannel(this);
  }

  isListening(deviceId: string): boolean {
    return (this.commandListeners.get(deviceId)?.size ?? 0) > 0;
  }

  send(deviceId: string, commandId: string, message: CommandMessage): void {
    this.aedes.publish(
      { cmd: 'publish', topic: deviceTopic.command(deviceId, commandId), payload: Buffer.from(JSON.stringify(message)), qos: 1, retain: false, dup: false },
      () => {},
    );
  }

  /**
   * Whether this broker holds a retained message on the topic. Its retained
   * store lives in memory, so after a restart nothing is retained until Tether
   * publishes again.
   */
  hasRetained(topic: string): boolean {
    return this.retainedTopics.has(topic);
  }

  /** Publishes retained, so the device gets it now and on every reconnect. */
  publishRetained(topic: string, payload: unknown): Promise<void> {
    this.retainedTopics.add(topic);
    return new Promise((resolve) =>
      this.aedes.publish({ cmd: 'publish', topic, payload: Buffer.from(JSON.stringify(payload)), qos: 1, retain: true, dup: false }, () => resolve()),
    );
  }

  /** Drops the retained message on the topic: MQTT-3.3.1-10, a retained publish with an empty payload. */
  clearRetained(topic: string): Promise<void> {
    if (!this.retainedTopics.delete(topic)) return Promise.resolve();
    return new Promise((resolve) => this.aedes.publish({ cmd: 'publish', topic, payload: Buffer.alloc(0), qos: 0, retain: true, dup: false }, () => resolve()));
  }

  private install(): void {
    const { devices, ingest, logger, metrics } = this.deps;
    const a = this.aedes;

    a.authenticate = (client: TetherClient, username, password, callback) => {
      const secret = password ? password.toString('utf8') : '';
      // Tether style: username = device id, password = token or JWT. ThingsBoard style: username = token.
      const check = () => (secret ? devices.authenticate(username ?? '', secret) : devices.authenticateToken(username ?? ''));
      const since = Date.now();
      let delayMs = 250;
      const attempt = () =>
        check().then(
          (identity) => {
            if (!identity) {
              metrics.rejected.inc({ reason: 'bad_credentials', transport: 'mqtt' });
              const err = new Error('bad username or password') as AuthenticateError;
              err.returnCode = 4; // MQTT-3.2.2: 4 = bad user name or password
              const ip = (client.conn as { remoteAddress?: string } | undefined)?.remoteAddress;
              void this.connectFailures.delayFor(ip).then(
                (delayMs) => (delayMs ? setTimeout(() => callback(err, false), delayMs) : callback(err, false)),
                () => callback(err, false),
              );
              return;
            }
            client.tether = identity;
            // Client ids are namespaced by device, so no device can take over another's session
            // (MQTT-3.1.4-2 disconnects an existing client with the same id).
            if (!client.id.startsWith(identity.deviceId)) client.id = `${identity.deviceId}/${client.id}`;
            void this.deviceConnects.delayFor(identity.deviceId).then(
              (delayMs) => {
                if (!delayMs) return callback(null, true);
                metrics.connectsSlowed.inc();
                setTimeout(() => callback(null, true), delayMs);
              },
              () => callback(null, true),
            );
          },
          (err: unknown) => {
            // The database is away (restart, failover). A refusing CONNACK (3, server unavailable)
            // stops mqtt.js and most firmware for good, so the CONNACK waits, as backpressure
            // does; past connectHoldMs the connection closes unanswered, and clients retry a
            // closed connection by themselves.
            if ((client as unknown as { closed?: boolean }).closed) return;
            if (!isDatabaseUnavailable(err)) {
              // Not an outage (a bug, a broken schema): waiting would not help.
              this.warnAuthWait(err, 'device authentication failed; connection closed unanswered');
              client.conn.destroy();
              return;
            }
            if (delayMs === 250) {
              metrics.connectsHeld.inc({ outcome: 'waited' });
              this.warnAuthWait(err, 'device authentication waits for the database: CONNACKs held');
            }
            if (Date.now() - since + delayMs > this.deps.connectHoldMs) {
              metrics.connectsHeld.inc({ outcome: 'closed' });
              client.conn.destroy();
              return;
            }
            setTimeout(attempt, delayMs).unref();
            delayMs = Math.min(delayMs * 2, 2000);
          },
        );
      void attempt();
    };

    a.authorizePublish = (client: TetherClient | null, packet, callback) => {
      // Shutting down: what was accepted is being committed and acknowledged; a new
      // publish gets no PUBACK, and the device sends it again once it reconnects
      // (MQTT-4.4.0-1). Closing beats a refusal, which an MQTT 5 device would not retry.
      if (this.stopping) return void client?.close();
      const identity = client?.tether;
      if (!identity) return callback(new Error('not authenticated'));
      // Tether offers QoS 0 and 1 (architecture §4); refusing QoS 2 also keeps the broker's
      // inbound QoS 2 store empty.
      if (packet.qos === 2) return this.refuse(identity, new IngestRejection('invalid_payload', 'QoS 2 is not supported; publish with QoS 0 or 1'), callback);
      const topic = packet.topic;
      let channel: UplinkChannel | null = null;
      if (topic === thingsboardTopic.telemetry) channel = 'telemetry';
      else if (topic === thingsboardTopic.attributes) channel = 'attributes';
      else {
        const parsed = parseDeviceTopic(topic);
        if (!parsed || parsed.deviceId.toLowerCase() !== identity.deviceId) {
          // ACL: a device writes only under devices/{its own id}/.
          return this.refuse(identity, new IngestRejection('not_authorized', `publish to ${topic} is outside devices/${identity.deviceId}/`), callback);
        }
        channel = parsed.channel;
        const result = COMMAND_RESULT.exec(parsed.path);
        if (result && this.hooks.commands) {
          // A command result is stored before its PUBACK, like any device data.
          this.hooks.commands.complete(identity, result[1]!, packet.payload as Buffer).then(
            () => callback(null),
            (err: unknown) => (err instanceof IngestRejection ? this.refuse(identity, err, callback) : callback(new Error('storage unavailable'))),
          );
          return;
        }
        if (!channel) {
          if (DEVICE_REPLY_PATHS.some((re) => re.test(parsed.path))) return callback(null);
          return this.refuse(identity, new IngestRejection('unknown_topic', `unknown device topic ${topic}`), callback);
        }
      }
      if (packet.retain) packet.retain = false; // device data is stored by Tether, never retained in the broker
      // MQTT-3.3.4-1 / architecture §4: PUBACK only after the message is durable.
      // Aedes writes the PUBACK when this callback runs, and reads no further
      // bytes from this client until every packet of its last read is answered:
      // with the ingest budget (the publish waits for room), that is the backpressure.
      const c = client!;
      const payload = packet.payload as Buffer;
      this.parsed++;
      const run = () => {
        c.tetherInProgress = (c.tetherInProgress ?? 0) + 1;
        ingest.accept(identity, channel, 'mqtt', payload, 'wait').then(
          () => {
            this.publishDone(c);
            callback(null);
          },
          (err: unknown) => {
            this.publishDone(c);
            if (err instanceof IngestRejection) return this.refuse(identity, err, callback, true);
            // Not committed: close without an ack so the device retries.
            callback(new Error('storage unavailable'));
          },
        );
      };
      // The connection's window (see publishDone): past it, the publish waits undecoded.
      if ((c.tetherInProgress ?? 0) < this.deps.receiveMaximum) run();
      else (c.tetherHeld ??= []).push(run);
    };

    a.authorizeSubscribe = (client: TetherClient, sub, callback) => {
      const identity = client.tether;
      const parsed = identity ? parseDeviceTopic(sub.topic) : null;
      if (!identity || !parsed || parsed.deviceId.toLowerCase() !== identity.deviceId || !DEVICE_SUBSCRIBE_PATHS.some((re) => re.test(parsed.path))) {
        // SUBACK 0x80: refused, connection kept (MQTT-3.9.3).
        return callback(null, null);
      }
      callback(null, sub.qos > 1 ? { ...sub, qos: 1 } : sub);
    };

    // Defense in depth: never deliver another device's tree to a device.
    a.authorizeForward = (client: TetherClient, packet) => {
      const identity = client.tether;
      if (!identity) return null;
      const parsed = parseDeviceTopic(packet.topic);
      if (!parsed || parsed.deviceId.toLowerCase() !== identity.deviceId) return null;
      // Aedes keeps no outgoing store for clean sessions, so its 'ack' event cannot say which
      // publish a PUBACK answers. MQTT-4.6.0-2 has clients PUBACK in the order they received,
      // so Tether keeps that order itself. The QoS is the one Aedes will send (it downgrades to
      // the subscription's QoS by exact topic).
      const sub = (client as unknown as { subscriptions: Record<string, { qos?: number }> }).subscriptions?.[packet.topic];
      const qos = Math.min(packet.qos, sub ? (sub.qos ?? 0) : packet.qos);
      if (qos > 0) {
        const unacked = (client.tetherUnacked ??= []);
        if (unacked.length >= MAX_UNACKED_TRACKED) unacked.shift();
        unacked.push(packet.topic);
      }
      return packet;
    };

    a.on('clientReady', (client: TetherClient) => {
      const identity = client.tether;
      if (!identity) return;
      let set = this.byDevice.get(identity.deviceId);
      if (!set) this.byDevice.set(identity.deviceId, (set = new Set()));
      set.add(client);
      metrics.connectedDevices.set(this.byDevice.size);
      if (set.size === 1) void this.deps.presence.changed(identity);
    });
    a.on('client', (client: TetherClient) => {
      const counted = this.counted.get(client.conn);
      if (!counted?.pending) return;
      counted.pending = false;
      this.limits.signedIn(counted.ip);
    });
    a.on('clientDisconnect', (client: TetherClient) => this.forget(client));
    a.on('subscribe', (subscriptions, client: TetherClient) => {
      const identity = client?.tether;
      if (!identity) return;
      for (const sub of subscriptions) {
        const parsed = parseDeviceTopic(sub.topic);
        if (!parsed || parsed.deviceId.toLowerCase() !== identity.deviceId) continue;
        if (COMMAND_TOPIC.test(parsed.path) || parsed.path === '#') {
          let set = this.commandListeners.get(identity.deviceId);
          if (!set) this.commandListeners.set(identity.deviceId, (set = new Set()));
          // Once per connection: a second command subscription of the same client resends nothing.
          if (!set.has(client)) {
            set.add(client);
            this.hooks.commands?.deliverPending(identity, { newSession: true }).catch((err: unknown) => logger.warn({ err }, 'command delivery failed'));
          }
        }
        if (parsed.path === 'config' || parsed.path === '#') this.hooks.onConfigSubscribe?.(identity);
      }
    });
    // MQTT-4.3.2: the device's PUBACK for a command publish means it was delivered.
    a.on('ack', (packet, client: TetherClient) => {
      const identity = client?.tether;
      const queued = client?.tetherUnacked?.shift();
      const topic = (packet && 'topic' in packet ? (packet.topic as string) : null) ?? queued ?? null;
      if (!identity || !topic) return;
      const parsed = parseDeviceTopic(topic);
      const m = parsed && /^commands\/([^/]+)$/.exec(parsed.path);
      if (m) this.hooks.commands?.markDelivered(identity, m[1]!).catch((err: unknown) => logger.warn({ err }, 'could not record command delivery'));
    });
    a.on('clientError', (client: TetherClient, err) => {
      logger.debug({ deviceId: client.tether?.deviceId, err: err.message }, 'mqtt client error');
    });
    a.on('connectionError', (client: TetherClient, err) => {
      logger.debug({ err: err.message }, 'mqtt connection error');
    });
  }

  /**
   * One publish of the client is answered: the next one waiting in its window
   * starts, or the connection may be handed more bytes. At most
   * `receiveMaximum` publishes of a connection are decoded and in progress; one
   * socket read can hold hundreds of small publishes, and past the window they
   * wait undecoded, so one connection cannot take the whole ingest budget. A
   * client past an MQTT 5 Receive Maximum is slowed down this way, not
   * disconnected (0x93), which also serves 3.1.1 clients never told a window.
   */
  private publishDone(client: TetherClient): void {
    this.parsed--;
    client.tetherInProgress!--;
    const next = client.tetherHeld?.shift();
    if (next) next();
    // Room in the window: BoundedReads asks mayRead before it hands over more.
    else (client.conn as unknown as BoundedReads).kick();
    // Room in the budget: the connections that waited for it, oldest first (no iterator per message when none wait).
    if (this.starved.size === 0) return;
    for (const conn of this.starved) {
      if (this.parsed >= this.deps.ingest.budget.maxMessages) break;
      this.starved.delete(conn);
      conn.kick();
    }
  }

  /**
   * Whether a connection may be handed more bytes. Not while its window is
   * full (its own publishDone kicks it), nor while the publishes parsed over
   * every connection reach the ingest budget (it waits in `starved`), except
   * that a connection with nothing in progress always gets one read: so parsed
   * packets stay within the budget plus one read per connection, however many
   * devices flood, and no device is starved for ever.
   */
  private mayRead(conn: BoundedReads): boolean {
    const client = (conn as unknown as { client?: TetherClient }).client;
    const outstanding = client ? (client.tetherInProgress ?? 0) + (client.tetherHeld?.length ?? 0) : 0;
    if (outstanding === 0) return true;
    if (outstanding >= this.deps.receiveMaximum) return false;
    if (this.parsed < this.deps.ingest.budget.maxMessages) return true;
    this.starved.add(conn);
    return false;
  }

  /** A client that does not read what it is sent is dropped: one client's backlog never holds up another's delivery. */
  private slowReader(conn: BoundedReads, reason: 'backlog' | 'stalled'): void {
    const client = (conn as unknown as { client?: TetherClient }).client;
    this.deps.metrics.slowReaders.inc({ reason });
    this.deps.logger.warn(
      { deviceId: client?.tether?.deviceId, reason, outgoingBytes: conn.outgoingBytes },
      'mqtt client does not read what it is sent: dropped',
    );
  }

  private refuse(identity: DeviceIdentity, err: IngestRejection, callback: (e: Error | null) => void, counted = false): void {
    if (!counted) this.deps.ingest.reject(identity.deviceId, 'mqtt', err);
    // MQTT 3.1.1 has no PUBACK reason code: the connection is closed (MQTT-3.3.5-2).
    callback(err);
  }

  private forget(client: TetherClient): void {
    const identity = client.tether;
    if (!identity) return;
    const listeners = this.commandListeners.get(identity.deviceId);
    if (listeners?.delete(client) && listeners.size === 0) this.commandListeners.delete(identity.deviceId);
    const set = this.byDevice.get(identity.deviceId);
    if (!set || !set.delete(client)) return;
    if (set.size === 0) {
      this.byDevice.delete(identity.deviceId);
      void this.deps.presence.changed(identity);
    }
    this.deps.metrics.connectedDevices.set(this.byDevice.size);
  }

  /** One line per 10 s at most: in an outage every device reconnects, and every CONNECT waits. */
  private warnAuthWait(err: unknown, message: string): void {
    if (Date.now() - this.lastAuthWaitWarnAt < 10_000) return;
    this.lastAuthWaitWarnAt = Date.now();
    this.deps.logger.warn({ err: err instanceof Error ? err.message : String(err) }, message);
  }

  /** The devices connected to this node: what presence writes back after an outage. */
  connectedDeviceIds(): Iterable<string> {
    return this.byDevice.keys();
  }

  holdsDevice(deviceId: string): boolean {
    return this.byDevice.has(deviceId);
  }

  /** After an outage: commands queued meanwhile go to the devices listening here. */
  redeliverPending(): void {
    for (const clients of this.commandListeners.values()) {
      const identity = clients.values().next().value?.tether;
      if (identity) this.hooks.commands?.deliverPending(identity).catch((err: unknown) => this.deps.logger.warn({ err }, 'command delivery failed'));
    }
  }

  /** Drops every connection of a device (credentials rotated or device deleted). */
  disconnectDevice(deviceId: string): void {
    for (const c of this.byDevice.get(deviceId.toLowerCase()) ?? []) c.close();
  }

  get connectedDevices(): number {
    return this.byDevice.size;
  }

  /** MQTT over a WebSocket or any other stream. */
  handle(stream: Duplex, remoteAddress?: string): void {
    const ip = remoteAddress ?? (stream as { remoteAddress?: string }).remoteAddress ?? 'unknown';
    const refused = this.limits.admit(ip);
    if (refused) {
      this.deps.metrics.connectionsRefused.inc({ reason: refused });
      stream.destroy();
      return;
    }
    const counted = { ip, pending: true };
    const conn = new BoundedReads(
      stream,
      {
        pieceBytes: READ_BYTES,
        mayRead: (c) => this.mayRead(c),
        maxOutgoingBytes: this.deps.maxOutgoingBytes,
        stallMs: this.deps.slowReaderTimeoutMs,
        onSlowReader: (c, reason) => this.slowReader(c, reason),
      },
      remoteAddress,
    );
    this.counted.set(conn, counted);
    conn.once('close', () => {
      this.starved.delete(conn);
      this.limits.closed(ip, counted.pending);
      counted.pending = false;
    });
    this.aedes.handle(conn);
  }

  async listen(port: number, host: string, tlsOptions?: { cert: Buffer; key: Buffer }): Promise<number> {
    const server = tlsOptions ? tls.createServer(tlsOptions, (s) => this.handle(s)) : net.createServer((s) => this.handle(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.servers.push(server);
    return (server.address() as net.AddressInfo).port;
  }

  /**
   * Shutdown, first step: no new connections, and no new device data, so
   * ingest can drain while devices still publish. Pending PUBACKs still go out.
   */
  stopAccepting(): void {
    this.stopping = true;
    for (const s of this.servers) s.close();
    this.servers = [];
  }

  /** Stops accepting, then closes every client and the broker. */
  async close(): Promise<void> {
    this.stopAccepting();
    await new Promise<void>((r) => this.aedes.close(() => r()));
  }
}
