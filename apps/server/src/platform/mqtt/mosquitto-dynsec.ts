import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from '../observability/logger.js';
import { ExternalBrokerError, redactUrl } from './external-client.js';

/**
 * Mosquitto's dynamic security plugin (mosquitto.org/documentation/dynamic-security):
 * JSON commands published to `$CONTROL/dynamic-security/v1`, answered on
 * `…/response` to the sender only, as `{"responses":[{command, error?, data?, correlationData?}]}`.
 * The plugin applies a message's commands in order and saves its file once per message.
 */
const CONTROL_TOPIC = '$CONTROL/dynamic-security/v1';
const RESPONSE_TOPIC = `${CONTROL_TOPIC}/response`;

/** One command (createClient, deleteRole, listClients, …) with its own fields. */
export type DynsecCommand = { command: string } & Record<string, unknown>;

/** The plugin's answer to one command: `error` is its message ("Client already exists", …) when it failed. */
export interface DynsecResponse {
  command: string;
  error?: string;
  data?: Record<string, unknown>;
}

/** The broker did not answer (not connected, or no response in time). */
export class DynsecUnavailableError extends Error {
  constructor(reason: string) {
    super(`Mosquitto's dynamic security plugin did not answer: ${reason}`);
    this.name = 'DynsecUnavailableError';
  }
}

export interface DynsecOptions {
  /** MQTT_URL: its user must hold the plugin's admin role (`mosquitto_ctrl dynsec init`). */
  url: string;
  logger: Logger;
  /** How long a message of commands waits for its response. */
  timeoutMs?: number;
}

interface Waiter {
  resolve(responses: DynsecResponse[]): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
  count: number;
}

/**
 * A control connection to Mosquitto's dynamic security plugin: no domain
 * knowledge, only commands in and responses out. Its own MQTT connection (a
 * clean session, QoS 1), apart from the ingest consumer's, so any node with
 * MQTT_URL can run it, and reconnecting with mqtt.js's backoff.
 */
export class MosquittoDynsec {
  private readonly waiters = new Map<string, Waiter>();
  private readonly timeoutMs: number;
  private ready = false;
  private readonly onReady: (() => void)[] = [];
  private readonly reconnectHandlers: (() => void)[] = [];

  private constructor(
    private readonly client: MqttClient,
    private readonly opts: DynsecOptions,
  ) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  /** Connects and subscribes to the responses; throws ExternalBrokerError when the first attempt fails. */
  static async connect(opts: DynsecOptions, timeoutMs = 10_000): Promise<MosquittoDynsec> {
    const client = mqtt.connect(opts.url, {
      protocolVersion: 5,
      clientId: `tether-dynsec-${randomBytes(6).toString('hex')}`,
      clean: true,
      connectTimeout: timeoutMs,
      reconnectPeriod: 0,
      // Subscribed here on every connect, and only then is the connection ready.
      resubscribe: false,
    });
    const self = new MosquittoDynsec(client, opts);
    client.on('message', (topic, payload) => {
      if (topic === RESPONSE_TOPIC) self.answer(payload);
    });
    await new Promise<void>((resolve, reject) => {
      const fail = (reason: string) => {
        cleanup();
        client.end(true);
        reject(new ExternalBrokerError(opts.url, reason));
      };
      const onError = (err: Error) => fail(err.message);
      const onClose = () => fail('connection closed before CONNACK');
      // Only our own listeners: mqtt.js reconnects through its own 'close' listener.
      const cleanup = () => {
        client.off('error', onError);
        client.off('close', onClose);
      };
      client.once('error', onError);
      client.once('close', onClose);
      client.once('connect', () => {
        self.subscribe().then(
          () => {
            cleanup();
            client.options.reconnectPeriod = 1000;
            client.on('connect', () => void self.subscribe().catch((err: Error) => opts.logger.warn({ err: err.message }, 'dynamic security subscribe')));
            client.on('close', () => {
              self.ready = false;
              self.failAll('connection to the broker lost');
            });
            client.on('error', (e) => opts.logger.warn({ err: e.message, url: redactUrl(opts.url) }, 'dynamic security connection error'));
            resolve();
          },
          (err: Error) => fail(err.message),
        );
      });
    });
    return self;
  }

  private subscribe(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.subscribe(RESPONSE_TOPIC, { qos: 1 }, (err, granted) => {
        if (err) return reject(new Error(`subscribe to ${RESPONSE_TOPIC}: ${err.message}`));
        const code = granted?.[0]?.qos ?? 128;
        if (code > 1) return reject(new Error(`${RESPONSE_TOPIC} refused (SUBACK 0x${code.toString(16)}): is MQTT_URL's user the dynamic security admin?`));
        this.ready = true;
        for (const fn of this.onReady.splice(0)) fn();
        for (const fn of this.reconnectHandlers) fn();
        resolve();
      });
    });
  }

  /** True while connected and subscribed to the responses. */
  get connected(): boolean {
    return this.ready && this.client.connected;
  }

  /** Calls `fn` every time the connection is ready again. */
  onReconnect(fn: () => void): void {
    this.reconnectHandlers.push(fn);
  }

  /** Resolves once ready (at once if it is); rejects after `timeoutMs`. */
  whenConnected(timeoutMs: number): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const on = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.onReady.splice(this.onReady.indexOf(on) >>> 0, 1);
        reject(new DynsecUnavailableError(`not connected within ${timeoutMs} ms`));
      }, timeoutMs);
      this.onReady.push(on);
    });
  }

  /** Runs commands in one message; resolves with one response per command, in order (errors included). */
  run(commands: DynsecCommand[]): Promise<DynsecResponse[]> {
    if (!this.connected) return Promise.reject(new DynsecUnavailableError('not connected to the broker'));
    const id = randomBytes(8).toString('hex');
    const body = { commands: commands.map((c, i) => ({ ...c, correlationData: `${id}.${i}` })) };
    return new Promise<DynsecResponse[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(id);
        reject(new DynsecUnavailableError(`no response within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.waiters.set(id, { resolve, reject, timer, count: commands.length });
      // QoS 0: a command is never sent again by mqtt.js after a reconnect, when its caller has been told it failed.
      this.client.publish(CONTROL_TOPIC, JSON.stringify(body), { qos: 0 }, (err) => {
        if (!err) return;
        clearTimeout(timer);
        this.waiters.delete(id);
        reject(new DynsecUnavailableError(err.message));
      });
    });
  }

  private answer(payload: Buffer): void {
    let responses: (DynsecResponse & { correlationData?: string })[];
    try {
      responses = (JSON.parse(payload.toString('utf8')) as { responses?: typeof responses }).responses ?? [];
    } catch {
      return;
    }
    const byId = new Map<string, DynsecResponse[]>();
    for (const r of responses) {
      const [id, index] = (r.correlationData ?? '').split('.');
      if (!id || !this.waiters.has(id)) continue;
      const list = byId.get(id) ?? [];
      list[Number(index)] = { command: r.command, error: r.error, data: r.data };
      byId.set(id, list);
    }
    for (const [id, list] of byId) {
      const w = this.waiters.get(id)!;
      this.waiters.delete(id);
      clearTimeout(w.timer);
      // A command the plugin could not parse is answered without correlation data: count it as failed.
      for (let i = 0; i < w.count; i++) list[i] ??= { command: 'unknown', error: 'no response for this command' };
      w.resolve(list);
    }
  }

  private failAll(reason: string): void {
    for (const [id, w] of this.waiters) {
      clearTimeout(w.timer);
      this.waiters.delete(id);
      w.reject(new DynsecUnavailableError(reason));
    }
  }

  async close(): Promise<void> {
    this.failAll('closing');
    await this.client.endAsync().catch(() => {});
  }
}
