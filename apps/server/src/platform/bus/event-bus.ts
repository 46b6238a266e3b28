import { randomUUID } from 'node:crypto';
import type { Logger } from '../observability/logger.js';

export interface BusHandlers {
  frame(frame: string): void;
  /** Back after a gap: what was sent meanwhile is lost. */
  reconnected(): void;
  /** Frames this engine could not send (cut off, or the server refused). */
  dropped(n: number): void;
}

/**
 * Carries frames between the nodes of a cluster: PostgreSQL LISTEN/NOTIFY,
 * NATS or Redis pub/sub. At most once and without replay: a node that was
 * cut off hears `onReconnect`, and resets what it derived from events.
 */
export interface BusEngine {
  readonly kind: 'postgres' | 'nats' | 'redis';
  /** Largest frame the bus packs events into (the engine may still split it). */
  readonly maxFrameBytes: number;
  /** True while frames can be sent and received. */
  readonly connected: boolean;
  start(handlers: BusHandlers): Promise<void>;
  /** Queues a frame for every node; never throws (a frame that cannot be sent is dropped and counted). */
  send(frame: string): void;
  close(): Promise<void>;
}

/** Who hears an event: this node only, the other nodes only, or all of them. */
export type Audience = 'local' | 'others' | 'all';

/** Counts events: sent to other nodes, received from them, dropped (unserializable, unsendable or unreadable frames). */
export type BusCounter = (what: 'sent' | 'received' | 'dropped', n: number) => void;

type Handler<P> = (payload: P, from: { local: boolean }) => void | Promise<void>;

interface Frame {
  /** Sending node. */
  n: string;
  /** Events: [type, payload]. */
  e: [string, unknown][];
}

/**
 * Typed domain events, delivered after the caller's work (never on its stack,
 * so never on a PUBACK's path) to this node's handlers and, through the
 * engine, to the other nodes'. Without an engine (embedded mode) it is an
 * in-process bus.
 *
 * Events emitted in one turn of the event loop go out as one frame per
 * engine-sized batch, in order.
 */
export class EventBus<M extends object> {
  readonly nodeId = randomUUID();
  private readonly handlers = new Map<keyof M, Set<Handler<never>>>();
  private readonly reconnectHandlers = new Set<() => void>();
  private localQueue: [keyof M, unknown][] = [];
  private remoteQueue: [string, unknown][] = [];
  private scheduled = false;
  private closed = false;
  constructor(
    private readonly engine: BusEngine | null,
    private readonly logger: Logger,
    private readonly count: BusCounter = () => {},
  ) {}

  /** The engine's name, or 'local' for the in-process bus. */
  get kind(): BusEngine['kind'] | 'local' {
    return this.engine?.kind ?? 'local';
  }

  /** False while the engine is cut off from the other nodes. */
  get connected(): boolean {
    return this.engine ? this.engine.connected : true;
  }

  async start(): Promise<void> {
    await this.engine?.start({
      frame: (f) => this.receive(f),
      dropped: (n) => this.count('dropped', n),
      reconnected: () => {
        for (const h of this.reconnectHandlers) this.safely(() => h());
      },
    });
  }

  on<K extends keyof M>(type: K, handler: Handler<M[K]>): () => void {
    let set = this.handlers.get(type);
    if (!set) this.handlers.set(type, (set = new Set()));
    set.add(handler as Handler<never>);
    return () => set!.delete(handler as Handler<never>);
  }

  /** The engine came back after a gap: events of that gap are lost, so whatever was derived from them is reset. */
  onReconnect(handler: () => void): () => void {
    this.reconnectHandlers.add(handler);
    return () => this.reconnectHandlers.delete(handler);
  }

  emit<K extends keyof M>(type: K, payload: M[K], to: Audience = 'all'): void {
    if (this.closed) return;
    if (to !== 'others' && this.handlers.get(type)?.size) this.localQueue.push([type, payload]);
    if (to !== 'local' && this.engine) this.remoteQueue.push([type as string, payload]);
    if (!this.scheduled && (this.localQueue.length || this.remoteQueue.length)) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  async close(): Promise<void> {
    this.flush();
    this.closed = true;
    await this.engine?.close();
  }

  private flush(): void {
    this.scheduled = false;
    const local = this.localQueue;
    const remote = this.remoteQueue;
    this.localQueue = [];
    this.remoteQueue = [];
    for (const [type, payload] of local) this.dispatch(type, payload, true);
    if (remote.length && this.engine) this.sendFrames(remote, this.engine);
  }

  private sendFrames(events: [string, unknown][], engine: BusEngine): void {
    const head = `{"n":${JSON.stringify(this.nodeId)},"e":[`;
    let parts: string[] = [];
    let bytes = head.length + 2;
    const out = () => {
      if (!parts.length) return;
      engine.send(`${head}${parts.join(',')}]}`);
      this.count('sent', parts.length);
      parts = [];
      bytes = head.length + 2;
    };
    for (const e of events) {
      let json: string;
      try {
        json = JSON.stringify(e);
      } catch (err) {
        this.count('dropped', 1);
        this.logger.warn({ err, type: e[0] }, 'bus: an event could not be serialized');
        continue;
      }
      // Bytes, not characters: an engine's limit is in bytes.
      const size = Buffer.byteLength(json);
      if (parts.length && bytes + size + 1 > engine.maxFrameBytes) out();
      parts.push(json);
      bytes += size + 1;
    }
    out();
  }

  private receive(frame: string): void {
    let parsed: Frame;
    try {
      parsed = JSON.parse(frame) as Frame;
    } catch {
      this.count('dropped', 1);
      this.logger.warn('bus: a frame that is not JSON was dropped');
      return;
    }
    if (parsed.n === this.nodeId || !Array.isArray(parsed.e)) return;
    for (const [type, payload] of parsed.e) {
      this.count('received', 1);
      // A type this node does not know (a newer node in a rolling upgrade) has no handlers.
      this.dispatch(type as keyof M, payload, false);
    }
  }

  private dispatch(type: keyof M, payload: unknown, local: boolean): void {
    const set = this.handlers.get(type);
    if (!set) return;
    for (const h of set) this.safely(() => h(payload as never, { local }), type);
  }

  private safely(fn: () => void | Promise<void>, type?: keyof M): void {
    try {
      const r = fn();
      if (r && typeof r.then === 'function') r.then(undefined, (err: unknown) => this.logger.warn({ err, type }, 'bus: an event handler failed'));
    } catch (err) {
      this.logger.warn({ err, type }, 'bus: an event handler failed');
    }
  }
}
