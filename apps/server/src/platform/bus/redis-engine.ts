import { Redis } from 'ioredis';
import type { Logger } from '../observability/logger.js';
import type { BusEngine, BusHandlers } from './event-bus.js';

/**
 * Redis pub/sub on one channel. A subscribing connection can do nothing else,
 * so there are two; ioredis reconnects and subscribes again by itself, and
 * the reconnect is reported so that what was derived from events is reset.
 * Nothing is queued while Redis is away (events are dropped and counted), so
 * a long outage costs no memory.
 */
export class RedisBusEngine implements BusEngine {
  readonly kind = 'redis' as const;
  readonly maxFrameBytes = 256 * 1024;
  private pub: Redis | null = null;
  private sub: Redis | null = null;

  private handlers: BusHandlers | null = null;

  constructor(
    private readonly url: string,
    private readonly channel: string,
    private readonly logger: Logger,
  ) {}

  get connected(): boolean {
    return this.sub?.status === 'ready' && this.pub?.status === 'ready';
  }

  async start(handlers: BusHandlers): Promise<void> {
    this.handlers = handlers;
    const options = { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: (n: number) => Math.min(250 * n, 5000) };
    this.pub = new Redis(this.url, options);
    this.sub = new Redis(this.url, { ...options, enableOfflineQueue: true });
    for (const c of [this.pub, this.sub]) c.on('error', (err: Error) => this.logger.debug({ err }, 'bus: Redis connection error'));
    await Promise.all([this.pub.connect(), this.sub.connect()]);
    this.sub.on('message', (channel: string, message: string) => channel === this.channel && handlers.frame(message));
    await this.sub.subscribe(this.channel);
    let wasDown = false;
    this.sub.on('close', () => {
      if (!wasDown) this.logger.warn('bus: disconnected from Redis; reconnecting');
      wasDown = true;
    });
    this.sub.on('ready', () => {
      if (!wasDown) return;
      wasDown = false;
      this.logger.info('bus: connected to Redis again');
      handlers.reconnected();
    });
  }

  send(frame: string): void {
    if (!this.pub || this.pub.status !== 'ready') {
      this.drop(1);
      return;
    }
    this.pub.publish(this.channel, frame).catch((err: unknown) => {
      this.drop(1);
      this.logger.warn({ err }, 'bus: Redis publish failed; event dropped');
    });
  }

  private drop(n: number): void {
    this.handlers?.dropped(n);
  }

  async close(): Promise<void> {
    const clients = [this.pub, this.sub];
    this.pub = this.sub = null;
    await Promise.all(clients.map((c) => c?.quit().catch(() => c.disconnect())));
  }
}
