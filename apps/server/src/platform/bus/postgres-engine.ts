import pg from 'pg';
import type { Logger } from '../observability/logger.js';
import type { BusEngine, BusHandlers } from './event-bus.js';

/** NOTIFY refuses payloads of 8,000 bytes or more; frames above this go as numbered parts. */
const PART_BYTES = 7_000;
/** Parts of a frame that never completed (a sender that died mid-frame) are forgotten after this. */
const PARTIAL_TTL_MS = 30_000;
const BACKOFF_MS = [250, 500, 1000, 2000, 5000];
/** Frames waiting to be sent, at most (a node cut off from the database drops the oldest past this). */
const MAX_QUEUED = 5_000;
/** Frames per NOTIFY round trip: one statement, one transaction. */
const FRAMES_PER_ROUND_TRIP = 256;

/**
 * PostgreSQL LISTEN/NOTIFY: the cluster's database is its bus, so a small
 * cluster needs no other component. One connection listens; one sends, in
 * order, so a frame's parts arrive in order. NOTIFY is a wake-up: events carry
 * ids, and receivers read what they need from the database.
 */
export class PostgresBusEngine implements BusEngine {
  readonly kind = 'postgres' as const;
  readonly maxFrameBytes = PART_BYTES;
  private listener: pg.Client | null = null;
  private sender: pg.Client | null = null;
  private queue: string[] = [];
  private pumping = false;
  private closing = false;
  private listening = false;
  private handlers: BusHandlers | null = null;
  private readonly partials = new Map<string, { parts: string[]; got: number; at: number }>();
  private nextFrameId = 0;
  private readonly senderTag = Math.random().toString(36).slice(2, 10);

  constructor(
    private readonly url: string,
    private readonly channel: string,
    private readonly logger: Logger,
  ) {}

  get connected(): boolean {
    return this.listening;
  }

  async start(handlers: BusHandlers): Promise<void> {
    this.handlers = handlers;
    await this.listen();
  }

  send(frame: string): void {
    if (this.closing) return;
    if (Buffer.byteLength(frame) <= PART_BYTES) this.queue.push(frame);
    else this.queue.push(...this.split(frame));
    // Cut off for long: keep at most ~35 MB of frames, then drop the oldest (at most once, no replay).
    if (this.queue.length > MAX_QUEUED) {
      const n = this.queue.length - MAX_QUEUED;
      this.queue.splice(0, n);
      this.drop(n);
    }
    void this.pump();
  }

  private drop(n: number): void {
    this.handlers?.dropped(n);
  }

  async close(): Promise<void> {
    this.closing = true;
    // What was emitted before the close still goes out (a revoke answered just before a shutdown).
    for (let i = 0; i < 50 && (this.queue.length || this.pumping); i++) await new Promise((r) => setTimeout(r, 20));
    const clients = [this.listener, this.sender];
    this.listener = this.sender = null;
    this.listening = false;
    await Promise.all(clients.map((c) => c?.end().catch(() => {})));
  }

  private split(frame: string): string[] {
    const parts: string[] = [];
    let i = 0;
    while (i < frame.length) {
      // Characters, cut where the UTF-8 bytes of the part fit (a surrogate pair is never split).
      let end = Math.min(frame.length, i + PART_BYTES);
      while (Buffer.byteLength(frame.slice(i, end)) > PART_BYTES - 64) end = i + Math.floor((end - i) * 0.8);
      if (end < frame.length && /[\ud800-\udbff]/.test(frame[end - 1]!)) end--;
      parts.push(frame.slice(i, end));
      i = end;
    }
    const id = `${this.senderTag}.${this.nextFrameId++}`;
    return parts.map((p, k) => `~${id}:${k}:${parts.length}:${p}`);
  }

  private onNotification(payload: string | undefined): void {
    if (!payload) return;
    if (payload[0] !== '~') {
      this.handlers?.frame(payload);
      return;
    }
    const m = /^~([^:]+):(\d+):(\d+):/.exec(payload);
    if (!m) return;
    const [head, id, k, n] = m;
    const now = Date.now();
    let p = this.partials.get(id!);
    if (!p) {
      for (const [key, old] of this.partials) if (now - old.at > PARTIAL_TTL_MS) this.partials.delete(key);
      this.partials.set(id!, (p = { parts: new Array(Number(n)), got: 0, at: now }));
    }
    if (p.parts[Number(k)] === undefined) p.got++;
    p.parts[Number(k)] = payload.slice(head!.length);
    if (p.got === p.parts.length) {
      this.partials.delete(id!);
      this.handlers?.frame(p.parts.join(''));
    }
  }

  private async connectClient(): Promise<pg.Client> {
    // keepAlive: a connection whose server vanished without a reset (a failover, a cut network) is found dead.
    const client = new pg.Client({ connectionString: this.url, application_name: 'tether-bus', keepAlive: true });
    await client.connect();
    return client;
  }

  /** Connects the listening client and LISTENs; on its loss, tries again with backoff. */
  private async listen(attempt = 0): Promise<void> {
    try {
      const client = await this.connectClient();
      client.on('notification', (n) => n.channel === this.channel && this.onNotification(n.payload));
      client.on('error', (err) => this.lost(client, err));
      client.on('end', () => this.lost(client, null));
      await client.query(`LISTEN ${pg.escapeIdentifier(this.channel)}`);
      if (this.closing) {
        await client.end().catch(() => {});
        return;
      }
      this.listener = client;
      this.listening = true;
      if (attempt > 0) {
        this.logger.info({ channel: this.channel }, 'bus: listening again on PostgreSQL');
        this.handlers?.reconnected();
      }
    } catch (err) {
      if (attempt === 0) throw err;
      if (this.closing) return;
      const delay = BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)]!;
      this.logger.warn({ err, retryInMs: delay }, 'bus: could not listen on PostgreSQL');
      setTimeout(() => void this.listen(attempt + 1), delay).unref();
    }
  }

  private lost(client: pg.Client, err: Error | null): void {
    if (this.listener !== client) return;
    this.listener = null;
    this.listening = false;
    client.end().catch(() => {});
    if (this.closing) return;
    this.logger.warn({ err }, 'bus: the PostgreSQL listening connection was lost; reconnecting');
    setTimeout(() => void this.listen(1), BACKOFF_MS[0]).unref();
  }

  /** Sends queued frames in order, several per round trip. A failed round trip drops its frames. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length) {
        if (!this.sender) {
          try {
            const c = await this.connectClient();
            c.on('error', () => {
              if (this.sender === c) this.sender = null;
            });
            this.sender = c;
          } catch (err) {
            this.drop(this.queue.length);
            this.queue = [];
            this.logger.warn({ err }, 'bus: could not connect to PostgreSQL to send; events dropped');
            return;
          }
        }
        const batch = this.queue.splice(0, FRAMES_PER_ROUND_TRIP);
        try {
          // One statement, one transaction: its notifications are delivered in this order.
          await this.sender.query('SELECT pg_notify($1, x) FROM unnest($2::text[]) WITH ORDINALITY AS t(x, i) ORDER BY i', [this.channel, batch]);
        } catch (err) {
          this.drop(batch.length);
          this.logger.warn({ err }, 'bus: NOTIFY failed; events dropped');
          const s = this.sender;
          this.sender = null;
          s?.end().catch(() => {});
        }
      }
    } finally {
      this.pumping = false;
    }
  }
}
