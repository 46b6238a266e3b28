import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import type { Logger } from '../observability/logger.js';

/** The broker of MQTT_URL could not be reached, or refused Tether, at start. */
export class ExternalBrokerError extends Error {
  constructor(url: string, reason: string) {
    super(
      `could not connect to the MQTT broker at ${redactUrl(url)} (MQTT_URL): ${reason}. Check that it runs, that MQTT_URL's user and password are a client it knows, and that it speaks MQTT 5.`,
    );
    this.name = 'ExternalBrokerError';
  }
}

/** The URL without its password, for logs and errors. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/** MQTT 5 PUBACK reason codes a consumer answers with (MQTT 5 §3.4.2.1). */
export const PUBACK = {
  success: 0x00,
  unspecifiedError: 0x80,
  notAuthorized: 0x87,
  topicNameInvalid: 0x90,
  quotaExceeded: 0x97,
  payloadFormatInvalid: 0x99,
} as const;

/** Given to mqtt.js for a QoS 1 message: it then sends no PUBACK of its own. */
const PUBACK_HELD = new Error('PUBACK sent after commit');

export interface ExternalMqttOptions {
  /** mqtt://user:pass@host:port or mqtts://… */
  url: string;
  /** Stable across restarts: the broker keeps this client's session, and the messages queued for it, under it. */
  clientId: string;
  /** Topic filters subscribed at QoS 1 on every connect (shared subscriptions included). */
  subscriptions: string[];
  /** MQTT 5 Session Expiry Interval: how long the broker keeps the session (and queues for it) while this client is away. */
  sessionExpiryS: number;
  logger: Logger;
  /**
   * A message from the broker. QoS 1: resolve with the PUBACK reason code once
   * the message is dealt with (committed, or refused for good); reject to send
   * no PUBACK at all: the connection is then dropped, so that the broker sends
   * it again on the next one (MQTT-4.4.0-1). QoS 0: the result is ignored.
   */
  onMessage(topic: string, payload: Buffer): Promise<number>;
}

const FIRST_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;
/**
 * MQTT 5 Receive Maximum told to the broker: QoS 1 messages it may have sent
 * this client unacknowledged at once, so a batch can gather many of them.
 * The client also holds to it itself: past it, it reads nothing more until
 * PUBACKs go out. Two full ingest batches (TETHER_INGEST_BATCH_SIZE 5,000,
 * two written at once): with 1,000, a commit cycle carried at most 1,000
 * messages, split over the two writers.
 */
export const CONSUMER_RECEIVE_MAXIMUM = 10_000;
/** Payload bytes of unacknowledged messages past which reading is held too (large payloads). */
export const CONSUMER_MAX_HELD_BYTES = 32 * 1024 * 1024;

/** One QoS 1 message of the current connection, waiting for its PUBACK decision. */
interface AckSlot {
  messageId: number;
  bytes: number;
  code: number | null;
}

/** mqtt.js's internal packet writer: the one way to send a PUBACK of our own choosing, when we choose. */
type PacketWriter = { _sendPacket(packet: object, cb?: () => void, cbStorePut?: () => void, noStore?: boolean): void };

/**
 * A connection to an external MQTT 5 broker, with no domain knowledge: a
 * persistent session (clean start off, a session expiry), QoS 1 subscriptions,
 * PUBACKs sent only when `onMessage` resolves, QoS 1 publishes, and
 * reconnects with exponential backoff.
 *
 * mqtt.js's own ways to delay a PUBACK (customHandleAcks, handleMessage) hold
 * every later packet until it is sent: one message per commit, a few hundred
 * a second. So messages are handed to `onMessage` as they arrive, many at
 * once (up to CONSUMER_RECEIVE_MAXIMUM), and their PUBACKs are written here,
 * in the order the messages came (MQTT-4.6.0-2), as each one's turn is decided.
 */
export class ExternalMqttClient {
  private backoffMs = FIRST_BACKOFF_MS;
  private closing = false;
  private lastError: string | null = null;
  /** QoS 1 messages of this connection not yet acknowledged, in arrival order, from `ackHead` on (no Array#shift per PUBACK). */
  private acks: AckSlot[] = [];
  private ackHead = 0;
  /** Their payload bytes. */
  private heldBytes = 0;
  /** Bumped when a connection ends: a decision for a message of an earlier one is not sent on the next. */
  private connection = 0;
  /** Set while reading is held because CONSUMER_RECEIVE_MAXIMUM messages (or CONSUMER_MAX_HELD_BYTES) wait for their PUBACK. */
  private readOn: (() => void) | null = null;
  /** When an incoming PUBLISH was last counted as a sign of the broker's life (see alive()). */
  private aliveAt = 0;

  private constructor(
    private readonly client: MqttClient,
    private readonly opts: ExternalMqttOptions,
  ) {}

  /** Connects and subscribes; throws ExternalBrokerError if the first attempt fails (unreachable, refused). Later losses reconnect by themselves. */
  static async connect(opts: ExternalMqttOptions, timeoutMs = 10_000): Promise<ExternalMqttClient> {
    const options: IClientOptions = {
      protocolVersion: 5,
      clientId: opts.clientId,
      // MQTT-3.1.2-4: Clean Start 0 resumes the session: its subscriptions and the messages queued for it.
      clean: false,
      properties: { sessionExpiryInterval: opts.sessionExpiryS, receiveMaximum: CONSUMER_RECEIVE_MAXIMUM },
      keepalive: 30,
      connectTimeout: timeoutMs,
      reconnectPeriod: 0, // the first attempt decides whether the start fails; reconnects are enabled after it
      resubscribe: false,
      manualConnect: true,
    };
    const client = mqtt.connect(opts.url, options);
    const self = new ExternalMqttClient(client, opts);
    // Called for every incoming PUBLISH; mqtt.js parses the next one once `done` runs, and sends
    // the PUBACK itself only if `done` gets no error: the PUBACK is ours to send (receive()).
    client.handleMessage = (packet, done) => {
      self.alive();
      self.receive(packet);
      const next = () => done(packet.qos === 1 ? PUBACK_HELD : undefined);
      // Our own bound: mqtt.js parses the next packet only once `done` runs. Mosquitto 2.0 was
      // measured sending a shared-subscription consumer far more than its Receive Maximum
      // (130k messages held in this process, 1.95 GB), so past it reading waits for PUBACKs.
      if (self.full) self.readOn = next;
      else next();
    };
    // mqtt.js ends the connection ("Keepalive timeout") when no PINGRESP (or ack of its own
    // publishes) has come 1.5 keepalives after the last one; an incoming PUBLISH does not count.
    // While reading is held, Mosquitto keeps sending past Receive Maximum, so its PINGRESP sits
    // behind up to hundreds of thousands of unread PUBLISHes: measured, the connection was
    // dropped every ~46 s under load, the broker sent its whole in-flight window again, nearly
    // every message came twice (each batch then took the merge path, ~1 s a commit) and a
    // backlog drained at ~650 msg/s instead of ~13,000. Data not read because this client holds
    // it says nothing about the broker: the timeout waits until reading goes on.
    const keepaliveTimeout = client.onKeepaliveTimeout.bind(client);
    client.onKeepaliveTimeout = () => {
      if (self.readOn) client.reschedulePing(true);
      else keepaliveTimeout();
    };
    await self.firstConnect(timeoutMs);
    return self;
  }

  /** Messages waiting for their PUBACK, or their bytes, are at the bound: read nothing more. */
  private get full(): boolean {
    return this.acks.length - this.ackHead >= CONSUMER_RECEIVE_MAXIMUM || this.heldBytes >= CONSUMER_MAX_HELD_BYTES;
  }

  /**
   * A PUBLISH came: the broker is there, as a PINGRESP would say, so the keepalive
   * starts over (at most once a second: it resets a timer).
   */
  private alive(): void {
    const now = Date.now();
    if (now - this.aliveAt < 1000) return;
    this.aliveAt = now;
    this.client.reschedulePing(true);
  }

  /** Forgets this connection's unacknowledged messages (the broker sends them again on the next). */
  private forgetAcks(): void {
    this.acks = [];
    this.ackHead = 0;
    this.heldBytes = 0;
  }

  private firstConnect(timeoutMs: number): Promise<void> {
    const client = this.client;
    return new Promise<void>((resolve, reject) => {
      const fail = (reason: string) => {
        cleanup();
        client.end(true);
        reject(new ExternalBrokerError(this.opts.url, reason));
      };
      const onError = (err: Error & { code?: string | number }) => fail(err.message || String(err.code));
      const onClose = () => fail(this.lastError ?? 'connection closed before CONNACK');
      const onConnect = () => {
        cleanup();
        this.subscribe().then(
          () => {
            this.install();
            resolve();
          },
          (err: unknown) => fail(`subscribe refused: ${(err as Error).message}`),
        );
      };
      const timer = setTimeout(() => fail(`no CONNACK within ${timeoutMs} ms`), timeoutMs + 1000);
      const cleanup = () => {
        clearTimeout(timer);
        client.off('error', onError);
        client.off('close', onClose);
        client.off('connect', onConnect);
      };
      client.on('error', onError);
      client.on('close', onClose);
      client.on('connect', onConnect);
      client.connect();
    });
  }

  /** After the first connect: reconnect with backoff, subscribe again on every connect, log what happens. */
  private install(): void {
    const { client, opts } = this;
    client.options.reconnectPeriod = FIRST_BACKOFF_MS;
    client.on('connect', (connack) => {
      this.backoffMs = FIRST_BACKOFF_MS;
      client.options.reconnectPeriod = FIRST_BACKOFF_MS;
      opts.logger.info({ sessionPresent: connack.sessionPresent }, 'external MQTT broker connected');
      // A session the broker dropped (expired) has no subscriptions any more; subscribing again is harmless otherwise.
      this.subscribe().catch((err: unknown) => {
        opts.logger.error({ err }, 'external MQTT broker refused the subscriptions; reconnecting');
        client.stream?.destroy();
      });
    });
    client.on('close', () => {
      this.connection++;
      this.forgetAcks();
      // The closed connection's parser is done with; the next connection reads from the start.
      this.readOn = null;
      if (this.closing) return;
      opts.logger.warn({ retryInMs: this.backoffMs, err: this.lastError }, 'external MQTT broker connection lost; reconnecting');
      client.options.reconnectPeriod = this.backoffMs;
      this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
    });
    client.on('error', (err) => {
      this.lastError = err.message;
    });
  }

  private subscribe(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.subscribe(Object.fromEntries(this.opts.subscriptions.map((topic) => [topic, { qos: 1 as const }])), (err, granted) => {
        if (err) return reject(err);
        const refused = (granted ?? []).filter((g) => g.qos > 1);
        if (refused.length) return reject(new Error(`SUBACK ${refused.map((g) => `0x${g.qos.toString(16)} for ${g.topic}`).join(', ')}`));
        resolve();
      });
    });
  }

  private receive(packet: IPublishPacket): void {
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    if (packet.qos === 0) {
      // A device's QoS 0 message: nothing to acknowledge, nothing redelivered.
      void this.opts.onMessage(packet.topic, payload).catch(() => {});
      return;
    }
    const slot: AckSlot = { messageId: packet.messageId!, bytes: payload.length, code: null };
    const connection = this.connection;
    this.acks.push(slot);
    this.heldBytes += slot.bytes;
    this.opts.onMessage(packet.topic, payload).then(
      (code) => {
        if (connection !== this.connection) return;
        slot.code = code;
        this.sendAcks();
      },
      (err: unknown) => {
        if (connection !== this.connection) return;
        // No PUBACK: the broker keeps the message in this session and, MQTT-4.4.0-1, sends it
        // again only on a new connection; so this one ends (later messages held behind it come again too).
        this.opts.logger.warn(
          { err: err instanceof Error ? err.message : String(err), topic: packet.topic },
          'external MQTT message not stored; not acknowledged, the broker sends it again after a reconnect',
        );
        this.connection++;
        this.forgetAcks();
        this.client.stream?.destroy();
      },
    );
  }

  /** MQTT-4.6.0-2: PUBACKs go in the order the messages came; each waits for those before it. */
  private sendAcks(): void {
    // A closed connection's PUBACKs would be stored by mqtt.js and sent on the next one, for other messages.
    if (!this.client.connected) return;
    const writer = this.client as unknown as PacketWriter;
    const acks = this.acks;
    let i = this.ackHead;
    while (i < acks.length && acks[i]!.code !== null) {
      const slot = acks[i++]!;
      this.heldBytes -= slot.bytes;
      writer._sendPacket({ cmd: 'puback', messageId: slot.messageId, reasonCode: slot.code }, undefined, undefined, true);
    }
    this.ackHead = i;
    if (i === acks.length) this.forgetAcks();
    else if (i > 1024 && i * 2 > acks.length) {
      this.acks = acks.slice(i);
      this.ackHead = 0;
    }
    if (this.readOn && !this.full) {
      const readOn = this.readOn;
      this.readOn = null;
      readOn();
    }
  }

  /** True while connected to the broker. */
  get connected(): boolean {
    return this.client.connected;
  }

  /** Publishes at QoS 1; resolves on the broker's PUBACK. While disconnected it waits in mqtt.js's outgoing store. */
  publish(topic: string, payload: Buffer | string, retain = false): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.publish(topic, payload, { qos: 1, retain }, (err) => (err ? reject(err) : resolve()));
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.client.endAsync().catch(() => {});
  }
}
