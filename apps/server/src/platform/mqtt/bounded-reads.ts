import { Duplex } from 'node:stream';

/** How a BoundedReads hands bytes over. */
export interface ReadPolicy {
  /** Most bytes handed over at once. */
  pieceBytes: number;
  /**
   * Asked before each piece of `bytes`: false while the broker wants no more parsed
   * packets from this connection; it calls kick() later.
   */
  mayRead(conn: BoundedReads, bytes: number): boolean;
  /** Everything handed over was taken (and, by Aedes, parsed in the same turn). */
  consumed(conn: BoundedReads): void;
  /**
   * Bytes written to the connection and not yet taken by the kernel past which
   * the peer counts as not reading: the connection is destroyed.
   */
  maxOutgoingBytes: number;
  /** How long written bytes may wait with none of them taken before the peer counts as not reading. */
  stallMs: number;
  /** The connection is being destroyed because its peer does not read. */
  onSlowReader(conn: BoundedReads, reason: 'backlog' | 'stalled'): void;
}

/**
 * A connection as Aedes sees it: bytes are handed over in pieces, and only
 * while the policy allows.
 *
 * Aedes reads everything its socket has buffered (up to 64 KB) and parses
 * every packet in it at once. One read of small QoS 1 publishes is hundreds of
 * parsed packets held per connection: with a thousand flooding devices,
 * hundreds of thousands of them (measured: 300,000 packets, 2.8 GB RSS). Here
 * pieces are small, and one goes over only while the broker's policy allows
 * (the connection's window and the ingest budget have room); the broker calls
 * `kick()` when they have room again. What is not handed over stays as raw bytes (one
 * socket read at most, with the socket paused) or in the kernel, where TCP
 * slows the device down.
 */
export class BoundedReads extends Duplex {
  /** Bytes read from the socket and not yet handed to Aedes, oldest first. */
  private pending: Buffer[] = [];
  private ended = false;
  /** Whether the socket is paused because bytes are pending here. */
  private innerPaused = false;
  private feedScheduled = false;
  /** Checks every `stallMs` while written bytes wait (see watchOutgoing). */
  private stallTimer: NodeJS.Timeout | null = null;
  /** Bytes waiting in the socket at the last check, and bytes written since. */
  private lastBacklog = 0;
  private writtenSinceCheck = 0;

  constructor(
    private readonly inner: Duplex,
    private readonly policy: ReadPolicy,
    /** The peer's address when the stream has none of its own (MQTT over WebSocket: the HTTP request's). */
    private readonly peerAddress?: string,
  ) {
    super({ readableHighWaterMark: 1024, allowHalfOpen: false });
    inner.on('data', (chunk: Buffer) => {
      // The common case, a connection within its window: the socket's read goes over as it is.
      if (!this.pending.length && this.readableLength + chunk.length <= policy.pieceBytes && policy.mayRead(this, chunk.length)) {
        this.push(chunk);
        return;
      }
      this.pending.push(chunk);
      if (!this.innerPaused) {
        this.innerPaused = true;
        inner.pause();
      }
      this.feed();
    });
    inner.on('end', () => {
      this.ended = true;
      this.feed();
    });
    inner.on('error', (err) => this.destroy(err));
    // After a FIN, what is still pending is handed over first, then 'end' (Aedes closes on it).
    inner.on('close', () => !this.ended && this.destroy());
    inner.on('drain', () => this.emit('drain'));
  }

  /** The window has room again. */
  kick(): void {
    if (this.pending.length && !this.destroyed) this.feed();
  }

  /** The peer's address, as on a net.Socket (connect-failure accounting reads it). */
  get remoteAddress(): string | undefined {
    return this.peerAddress ?? (this.inner as { remoteAddress?: string }).remoteAddress;
  }

  /**
   * Aedes drained what it was given: the policy hears of it, and the next piece goes over, on the next tick,
   * not inside its read(): a piece pushed there would be returned by that same
   * read, and a piece that ends inside a packet would then leave Aedes waiting
   * for a 'readable' event that never comes.
   */
  override _read(): void {
    if (this.feedScheduled) return;
    this.feedScheduled = true;
    process.nextTick(() => {
      this.feedScheduled = false;
      if (this.destroyed) return;
      // Aedes parses what it reads in the same turn: by now every packet handed over is parsed.
      if (this.readableLength === 0) this.policy.consumed(this);
      if (this.pending.length) this.feed();
    });
  }

  /** Hands over pieces while the policy allows and at most one piece waits unread; resumes the socket once all is handed over. */
  private feed(): void {
    while (this.pending.length) {
      const max = this.policy.pieceBytes;
      const head = this.pending[0]!;
      if (this.readableLength >= max || !this.policy.mayRead(this, Math.min(head.length, max))) return;
      let piece: Buffer;
      if (head.length > max) {
        piece = head.subarray(0, max);
        this.pending[0] = head.subarray(max);
      } else {
        piece = head;
        this.pending.shift();
      }
      this.push(piece);
    }
    if (this.ended) this.push(null);
    else if (this.innerPaused && !this.destroyed) {
      this.innerPaused = false;
      this.inner.resume();
    }
  }

  /*
   * Writes go straight to the socket, with its own buffering and cork: Aedes writes
   * every PUBACK, and a second Writable layer per packet showed up as GC time.
   *
   * A write always reports room (true). Aedes parks a delivery whose write
   * returns false until the socket drains, and its message router (mqemitter)
   * holds one of its 1,000 slots for every delivery parked: a single client
   * that stops reading would stall delivery to every client, and every
   * device's PUBACKs, until its drain timeout. Here a peer that does not read
   * is found by its backlog (past maxOutgoingBytes) or by no progress for
   * stallMs, and destroyed; until then its bytes wait in its own socket.
   */
  override write(
    chunk: unknown,
    encoding?: BufferEncoding | ((error: Error | null | undefined) => void),
    cb?: (error: Error | null | undefined) => void,
  ): boolean {
    if (this.destroyed) return true;
    if (this.inner.writableLength >= this.policy.maxOutgoingBytes) {
      this.slowReader('backlog');
      return true;
    }
    if (typeof encoding === 'function') this.inner.write(chunk, encoding);
    else this.inner.write(chunk, encoding ?? 'utf8', cb);
    this.writtenSinceCheck += (chunk as { length?: number }).length ?? 0;
    if (!this.stallTimer && this.inner.writableLength > 0) this.watchOutgoing();
    return true;
  }

  /** Bytes written and not yet taken by the kernel. */
  get outgoingBytes(): number {
    return this.inner.writableLength;
  }

  /** While bytes wait, checks every stallMs that some of them were taken since the last check. */
  private watchOutgoing(): void {
    this.lastBacklog = this.inner.writableLength;
    this.writtenSinceCheck = 0;
    this.stallTimer = setInterval(() => {
      const backlog = this.inner.writableLength;
      const taken = this.lastBacklog + this.writtenSinceCheck - backlog;
      if (backlog === 0 || this.destroyed) {
        clearInterval(this.stallTimer!);
        this.stallTimer = null;
      } else if (taken <= 0) {
        this.slowReader('stalled');
      } else {
        this.lastBacklog = backlog;
        this.writtenSinceCheck = 0;
      }
    }, this.policy.stallMs);
    this.stallTimer.unref();
  }

  private slowReader(reason: 'backlog' | 'stalled'): void {
    this.policy.onSlowReader(this, reason);
    this.destroy(new Error(reason === 'backlog' ? 'peer does not read: outgoing backlog over the limit' : 'peer does not read: nothing taken for too long'));
  }

  override cork(): void {
    this.inner.cork();
  }
  override uncork(): void {
    this.inner.uncork();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.inner.write(chunk, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.inner.end(() => cb());
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.pending = [];
    if (this.stallTimer) clearInterval(this.stallTimer);
    this.stallTimer = null;
    this.inner.destroy(err ?? undefined);
    cb(err);
  }
}
