import { connect, Events, type NatsConnection } from 'nats';
import type { Logger } from '../observability/logger.js';
import type { BusEngine, BusHandlers } from './event-bus.js';

/**
 * NATS core pub/sub, what Magistrala uses between its services: one subject
 * for the cluster's events. The client reconnects by itself for ever; a
 * reconnect is reported so that what was derived from events is reset.
 */
export class NatsBusEngine implements BusEngine {
  readonly kind = 'nats' as const;
  /** Well under NATS's default max_payload of 1 MB. */
  readonly maxFrameBytes = 256 * 1024;
  private nc: NatsConnection | null = null;
  private up = false;
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder();

  private handlers: BusHandlers | null = null;

  constructor(
    private readonly url: string,
    private readonly subject: string,
    private readonly logger: Logger,
  ) {}

  get connected(): boolean {
    return this.up;
  }

  async start(handlers: BusHandlers): Promise<void> {
    this.handlers = handlers;
    const u = new URL(this.url);
    const nc = await connect({
      servers: `${u.hostname}:${u.port || 4222}`,
      user: u.username ? decodeURIComponent(u.username) : undefined,
      pass: u.password ? decodeURIComponent(u.password) : undefined,
      name: 'tether',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
    });
    this.nc = nc;
    this.up = true;
    nc.subscribe(this.subject, { callback: (err, msg) => !err && handlers.frame(this.decoder.decode(msg.data)) });
    // The server has the subscription once this round trip is back: nothing sent after start() is missed.
    await nc.flush();
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === Events.Disconnect) {
          this.up = false;
          this.logger.warn('bus: disconnected from NATS; reconnecting');
        } else if (s.type === Events.Reconnect) {
          this.up = true;
          this.logger.info('bus: connected to NATS again');
          handlers.reconnected();
        }
      }
    })();
  }

  send(frame: string): void {
    if (!this.nc || !this.up) {
      this.drop(1);
      return;
    }
    try {
      this.nc.publish(this.subject, this.encoder.encode(frame));
    } catch (err) {
      this.drop(1);
      this.logger.warn({ err }, 'bus: NATS publish failed; event dropped');
    }
  }

  private drop(n: number): void {
    this.handlers?.dropped(n);
  }

  async close(): Promise<void> {
    const nc = this.nc;
    this.nc = null;
    this.up = false;
    // drain: what was published goes out before the connection closes.
    await nc?.drain().catch(() => {});
  }
}
