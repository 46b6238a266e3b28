import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { Aedes, type AuthenticateError, type Client, type Subscription } from 'aedes';
import { LISTEN_BACKLOG } from '../../config/config.js';
import { isDatabaseUnavailable } from '../db/database.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { BoundedReads } from './bounded-reads.js';
import { ConnectThrottle } from './connect-throttle.js';
import { ConnectionLimits, type ConnectionCaps } from './connection-limits.js';
import { READ_BYTES, type PublishWindows } from './publish-window.js';

/** Who a connection signed in as. The broker uses only the device id: client ids are namespaced by it, CONNECTs throttled by it, logs name it. */
export interface MqttIdentity {
  readonly deviceId: string;
}

/** A signed-in connection as the handlers see it: Aedes's client itself, no wrapper. */
export interface MqttSession<I extends MqttIdentity> {
  readonly identity: I;
  close(): void;
  /** Sends a message to this client alone, whatever it subscribed to (still through mayReceive). */
  publish(packet: { cmd: 'publish'; topic: string; payload: Buffer; qos: 0; retain: false; dup: false }, done: (err?: Error) => void): void;
}

/** A device's PUBLISH as the handlers see it: Aedes's packet itself. */
export interface MqttPublish {
  readonly topic: string;
  readonly payload: Buffer | string;
  readonly qos: 0 | 1 | 2;
  retain: boolean;
}

export interface MqttSubscription {
  readonly topic: string;
  readonly qos: 0 | 1 | 2;
}

/** What MQTT means to the application: given to the broker, which knows nothing else of it. */
export interface MqttHandlers<I extends MqttIdentity> {
  /** CONNECT: the identity the credentials belong to, or null (bad credentials). A rejection is a failed check, not a refusal. */
  authenticate(username: string | undefined, password: Buffer | undefined): Promise<I | null>;
  /**
   * A PUBLISH of a signed-in client. Aedes writes the PUBACK when `done` is called
   * with null; with an error the publish is refused: MQTT 5 gets PUBACK 0x87 with the
   * error as reason string and stays connected, 3.1.1 is disconnected (MQTT-3.3.5-2).
   */
  publish(session: MqttSession<I>, packet: MqttPublish, done: (err: Error | null) => void): void;
  /** A SUBSCRIBE: what is granted, or null (SUBACK 0x80, connection kept: MQTT-3.9.3). */
  subscribe(identity: I, sub: MqttSubscription): MqttSubscription | null;
  /**
   * Whether a message on `topic` may be delivered to this client. `direct`: sent
   * by deliverTo to this client alone, not fanned out to the topic's subscribers.
   */
  mayReceive(identity: I, topic: string, direct: boolean): boolean;
  /** The client signed in (its CONNACK is sent). */
  opened(session: MqttSession<I>): void;
  /** A signed-in client is gone. */
  closed(session: MqttSession<I>): void;
  /** The client's subscriptions were granted. */
  subscribed(session: MqttSession<I>, subscriptions: readonly MqttSubscription[]): void;
  /** The client acknowledged (PUBACK) a QoS 1 message sent to it on `topic`. */
  acked(session: MqttSession<I>, topic: string): void;
}

export interface MqttBrokerOptions {
  logger: Logger;
  metrics: Metrics;
  /** Bad-credential CONNECTs a minute from one IP answered at once; later ones wait. */
  authFailuresPerMinute: number;
  /** Successful CONNECTs a minute of one device answered at once; later ones wait (0: no limit). */
  connectsPerDevicePerMinute: number;
  /**
   * Publishes of one connection in progress at once (their Receive Maximum, told to
   * MQTT 5 clients) and over all connections: later ones wait as parsed packets, and
   * Aedes reads no more from the socket until they are answered.
   */
  windows: PublishWindows;
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

type BrokerClient<I extends MqttIdentity> = Client & {
  identity?: I;
  /** Topics of QoS 1 publishes sent to this client and not yet PUBACKed, oldest first. */
  tetherUnacked?: string[];
};

/** Far more than any device keeps in flight; a client that never acks cannot grow it further. */
const MAX_UNACKED_TRACKED = 1000;

const noop = () => {};

/** The broker id deliverTo's packets carry, so authorizeForward tells them from fan-out (aedes-packet keeps brokerId). */
const DIRECT = 'tether-direct';

/** MQTT topic filter matching (MQTT-4.7): `+` one level, `#` the rest; `$` topics match no wildcard first level. */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

/**
 * The embedded MQTT broker (Aedes 2; MQTT 3.1, 3.1.1 and 5) as a transport:
 * listeners, TLS, MQTT over any stream (WebSocket), bounded reads and publish
 * windows, connection caps, CONNECT throttles, slow readers, and CONNACKs held
 * through a database outage. What a topic means is the handlers' business.
 */
export class MqttBroker<I extends MqttIdentity> {
  readonly aedes: Aedes;
  private servers: net.Server[] = [];
  private stopping = false;
  private readonly retainedTopics = new Set<string>();
  /** Bad-credential CONNECTs per client IP: past a few a minute, each refusal is answered late. */
  private readonly connectFailures: ConnectThrottle;
  private readonly deviceConnects: ConnectThrottle;
  private lastAuthWaitWarnAt = 0;
  private readonly limits: ConnectionLimits;
  /** Connections counted by `limits` and the peer address they were counted under; `pending` until signed in. */
  private readonly counted = new WeakMap<object, { ip: string; pending: boolean }>();

  private constructor(
    aedes: Aedes,
    private readonly opts: MqttBrokerOptions,
    private readonly handlers: MqttHandlers<I>,
  ) {
    this.aedes = aedes;
    this.connectFailures = new ConnectThrottle(opts.authFailuresPerMinute);
    this.deviceConnects = new ConnectThrottle(opts.connectsPerDevicePerMinute);
    this.limits = new ConnectionLimits(opts.connectionCaps);
  }

  static async create<I extends MqttIdentity>(opts: MqttBrokerOptions, handlers: MqttHandlers<I>): Promise<MqttBroker<I>> {
    const aedes = await Aedes.createBroker({
      // Ingest holds each client's publish callback until commit; this only caps broker-side fan-out.
      concurrency: 1000,
      queueLimit: 100,
      connectTimeout: 10_000,
      // Never reached: BoundedReads reports every write as taken, and drops a client that does not read itself.
      drainTimeout: 30_000,
      maxTopicLevels: 16,
      heartbeatInterval: 60_000,
      // MQTT-3.2.2.3.3: advertised in the CONNACK; see PublishWindows for what a client that sends more gets.
      receiveMaximum: opts.windows.receiveMaximum,
      // MQTT-3.2.2-15: checked on the fixed header, before the rest of the packet is buffered; advertised in the CONNACK.
      maximumPacketSize: opts.maximumPacketSize,
    });
    const broker = new MqttBroker(aedes, opts, handlers);
    broker.install();
    return broker;
  }

  /** Publishes to every subscriber of `topic`, not retained. */
  publish(topic: string, payload: Buffer, qos: 0 | 1): void {
    this.aedes.publish({ cmd: 'publish', topic, payload, qos, retain: false, dup: false }, noop);
  }

  /**
   * Sends to this one client, if it subscribes to the topic, whatever other
   * clients subscribe to: for topics that name no device (ThingsBoard's
   * v1/devices/me/…), where a fan-out would reach every device. At most
   * `maxQos`, and no more than the client's subscription granted. The QoS sent
   * at, or null when the client does not subscribe to the topic.
   */
  deliverTo(session: MqttSession<I>, topic: string, payload: Buffer, maxQos: 0 | 1): 0 | 1 | null {
    const client = session as BrokerClient<I>;
    const subs = (client as unknown as { subscriptions?: Record<string, { qos?: number }> }).subscriptions ?? {};
    let granted = -1;
    for (const [filter, sub] of Object.entries(subs)) if (topicMatches(filter, topic)) granted = Math.max(granted, sub.qos ?? 0);
    if (granted < 0) return null;
    const qos = Math.min(granted, maxQos) as 0 | 1;
    client.publish({ cmd: 'publish', topic, payload, qos, retain: false, dup: false, brokerId: DIRECT } as Parameters<Client['publish']>[0], noop);
    return qos;
  }

  /**
   * Whether this broker holds a retained message on the topic. Its retained
   * store lives in memory, so after a restart nothing is retained until the
   * application publishes again.
   */
  hasRetained(topic: string): boolean {
    return this.retainedTopics.has(topic);
  }

  /** Publishes retained at QoS 1, so subscribers get it now and on every reconnect. */
  publishRetained(topic: string, payload: Buffer): Promise<void> {
    this.retainedTopics.add(topic);
    return new Promise((resolve) => this.aedes.publish({ cmd: 'publish', topic, payload, qos: 1, retain: true, dup: false }, () => resolve()));
  }

  /** Drops the retained message on the topic: MQTT-3.3.1-10, a retained publish with an empty payload. */
  clearRetained(topic: string): Promise<void> {
    if (!this.retainedTopics.delete(topic)) return Promise.resolve();
    return new Promise((resolve) => this.aedes.publish({ cmd: 'publish', topic, payload: Buffer.alloc(0), qos: 0, retain: true, dup: false }, () => resolve()));
  }

  private install(): void {
    const { logger, metrics } = this.opts;
    const handlers = this.handlers;
    const a = this.aedes;

    a.authenticate = (client: BrokerClient<I>, username, password, callback) => {
      const since = Date.now();
      let delayMs = 250;
      const attempt = () =>
        handlers.authenticate(username, password).then(
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
            client.identity = identity;
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
            if (Date.now() - since + delayMs > this.opts.connectHoldMs) {
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

    a.authorizePublish = (client: BrokerClient<I> | null, packet, callback) => {
      // Shutting down: what was accepted is being committed and acknowledged; a new
      // publish gets no PUBACK, and the device sends it again once it reconnects
      // (MQTT-4.4.0-1). Closing beats a refusal, which an MQTT 5 device would not retry.
      if (this.stopping) return void client?.close();
      if (!client?.identity) return callback(new Error('not authenticated'));
      handlers.publish(client as MqttSession<I>, packet as MqttPublish, callback);
    };

    a.authorizeSubscribe = (client: BrokerClient<I>, sub, callback) => {
      const identity = client.identity;
      // SUBACK 0x80 for a refusal: the connection is kept (MQTT-3.9.3).
      callback(null, identity ? (handlers.subscribe(identity, sub) as Subscription | null) : null);
    };

    a.authorizeForward = (client: BrokerClient<I>, packet) => {
      const identity = client.identity;
      if (!identity || !handlers.mayReceive(identity, packet.topic, packet.brokerId === DIRECT)) return null;
      // Aedes keeps no outgoing store for clean sessions, so its 'ack' event cannot say which
      // publish a PUBACK answers. MQTT-4.6.0-2 has clients PUBACK in the order they received,
      // so the order is kept here. The QoS is the one Aedes will send (it downgrades to
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

    a.on('clientReady', (client: BrokerClient<I>) => {
      if (client.identity) handlers.opened(client as MqttSession<I>);
    });
    a.on('client', (client: BrokerClient<I>) => {
      const counted = this.counted.get(client.conn);
      if (!counted?.pending) return;
      counted.pending = false;
      this.limits.signedIn(counted.ip);
    });
    a.on('clientDisconnect', (client: BrokerClient<I>) => {
      if (client.identity) handlers.closed(client as MqttSession<I>);
    });
    a.on('subscribe', (subscriptions, client: BrokerClient<I>) => {
      if (client?.identity) handlers.subscribed(client as MqttSession<I>, subscriptions as MqttSubscription[]);
    });
    // MQTT-4.3.2: the client's PUBACK for a QoS 1 publish sent to it.
    a.on('ack', (packet, client: BrokerClient<I>) => {
      const queued = client?.tetherUnacked?.shift();
      const topic = (packet && 'topic' in packet ? (packet.topic as string) : null) ?? queued ?? null;
      if (client?.identity && topic) handlers.acked(client as MqttSession<I>, topic);
    });
    a.on('clientError', (client: BrokerClient<I>, err) => {
      logger.debug({ deviceId: client.identity?.deviceId, err: err.message }, 'mqtt client error');
    });
    a.on('connectionError', (client: BrokerClient<I>, err) => {
      logger.debug({ err: err.message }, 'mqtt connection error');
    });
  }

  /** A client that does not read what it is sent is dropped: one client's backlog never holds up another's delivery. */
  private slowReader(conn: BoundedReads, reason: 'backlog' | 'stalled'): void {
    const client = (conn as unknown as { client?: BrokerClient<I> }).client;
    this.opts.metrics.slowReaders.inc({ reason });
    this.opts.logger.warn(
      { deviceId: client?.identity?.deviceId, reason, outgoingBytes: conn.outgoingBytes },
      'mqtt client does not read what it is sent: dropped',
    );
  }

  /** One line per 10 s at most: in an outage every device reconnects, and every CONNECT waits. */
  private warnAuthWait(err: unknown, message: string): void {
    if (Date.now() - this.lastAuthWaitWarnAt < 10_000) return;
    this.lastAuthWaitWarnAt = Date.now();
    this.opts.logger.warn({ err: err instanceof Error ? err.message : String(err) }, message);
  }

  /** MQTT over a WebSocket or any other stream. */
  handle(stream: Duplex, remoteAddress?: string): void {
    const ip = remoteAddress ?? (stream as { remoteAddress?: string }).remoteAddress ?? 'unknown';
    const refused = this.limits.admit(ip);
    if (refused) {
      this.opts.metrics.connectionsRefused.inc({ reason: refused });
      stream.destroy();
      return;
    }
    const counted = { ip, pending: true };
    const windows = this.opts.windows;
    const conn = new BoundedReads(
      stream,
      {
        pieceBytes: READ_BYTES,
        mayRead: (c, bytes) => windows.mayRead(c, bytes),
        consumed: (c) => windows.consumed(c),
        maxOutgoingBytes: this.opts.maxOutgoingBytes,
        stallMs: this.opts.slowReaderTimeoutMs,
        onSlowReader: (c, reason) => this.slowReader(c, reason),
      },
      remoteAddress,
    );
    this.counted.set(conn, counted);
    conn.once('close', () => {
      windows.closed(conn);
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
   * Shutdown, first step: no new connections, and no new publishes, so what was
   * accepted can drain while clients still publish. Pending PUBACKs still go out.
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
