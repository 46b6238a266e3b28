import type { BoundedReads } from './bounded-reads.js';

/**
 * Bytes Aedes gets per read of a connection: a few dozen small publishes, not
 * a whole socket read (up to 64 KB, hundreds of them). A busy connection is not
 * slowed by it: the next piece follows as soon as its window has room.
 */
export const READ_BYTES = 4 * 1024;

/** What a window keeps on Aedes's client object: no map lookup per publish. */
interface WindowedClient {
  conn: unknown;
  /** Set by Aedes once the CONNACK is out: before it, the connection is signing in. */
  connackSent?: boolean;
  /** Publishes of this client being decoded and committed (at most `receiveMaximum`). */
  tetherInProgress?: number;
  /** Its further publishes, parsed but not yet looked at, oldest first. */
  tetherHeld?: (() => void)[];
  /** Room reserved for the publishes of the read it was let in for, out of `starved`, and not yet taken. */
  tetherReserved?: number;
  /** Let in out of `starved`: its next mayRead is the read it has room reserved for. */
  tetherLetIn?: boolean;
}

/**
 * How many publishes each connection, and all of them together, have parsed
 * and not yet answered; BoundedReads asks `mayRead` before it hands a
 * connection more bytes.
 *
 * At most `receiveMaximum` publishes of a connection are decoded and in
 * progress; one socket read can hold hundreds of small publishes, and past the
 * window they wait undecoded, so one connection cannot take the whole ingest
 * budget. A client past an MQTT 5 Receive Maximum is slowed down this way, not
 * disconnected (0x93), which also serves 3.1.1 clients never told a window.
 *
 * Over all connections, publishes parsed and unanswered stay within the
 * ingest budget (`maxParsed`): past it, connections wait in `starved` and are
 * let in, oldest first, as commits free room. A read is parsed a tick after it
 * is handed over, so each read keeps room for the publishes it likely holds
 * (its bytes over the mean publish size) until they are parsed; a connection
 * let in keeps room for a whole read (READ_BYTES) until its read's size is
 * known, and only as many are let in as there is room for (so at most one
 * read past the budget). Counting parsed publishes only, every waiting
 * connection was let in at the first freed slot, and a thousand flooding
 * devices parsed far past the budget and waited for it: 90% of publishes did,
 * each holding its parsed packet through garbage collections (bench scenario
 * 4: more GC time, 1 GB RSS).
 */
export class PublishWindows {
  /** Publishes parsed and not yet answered, over every connection. */
  private parsed = 0;
  /** Room reserved for connections let in out of `starved` and not yet taken by their publishes. */
  private reserved = 0;
  /** Mean size of a publish on the wire, in bytes (a moving average), to reckon publishes per read. */
  private meanPublishBytes = 128;
  /** Connections refused more bytes because the budget was spent, oldest first. */
  private readonly starved = new Set<BoundedReads>();

  constructor(
    /** Publishes of one connection in progress at once; also the Receive Maximum told to MQTT 5 clients. */
    readonly receiveMaximum: number,
    /** Publishes parsed and unanswered over every connection past which connections get no more bytes (the ingest budget). */
    private readonly maxParsed: number,
  ) {}

  /**
   * A publish of `client`, `bytes` long on the wire, was parsed: `run` starts it
   * now if the window has room, else once an earlier one is done.
   */
  enter(client: object, bytes: number, run: () => void): void {
    const c = client as WindowedClient;
    this.parsed++;
    if (c.tetherReserved) {
      c.tetherReserved--;
      this.reserved--;
    }
    this.meanPublishBytes += (bytes - this.meanPublishBytes) / 64;
    const inProgress = c.tetherInProgress ?? 0;
    if (inProgress < this.receiveMaximum) {
      c.tetherInProgress = inProgress + 1;
      run();
    } else (c.tetherHeld ??= []).push(run);
  }

  /** A publish `enter` started is answered: the next one waiting in the window starts, or the connection may be handed more bytes. */
  done(client: object): void {
    const c = client as WindowedClient;
    this.parsed--;
    c.tetherInProgress!--;
    const next = c.tetherHeld?.shift();
    if (next) {
      c.tetherInProgress!++;
      next();
    }
    // Room in the window: BoundedReads asks mayRead before it hands over more.
    else (c.conn as BoundedReads).kick();
    this.letIn();
  }

  /** Room in the budget: the connections that waited for it, oldest first, as far as the room goes. */
  private letIn(): void {
    // No iterator per message when none wait.
    if (this.starved.size === 0) return;
    const perRead = Math.max(1, Math.floor(READ_BYTES / this.meanPublishBytes));
    for (const conn of this.starved) {
      // While there is room at all: a budget smaller than one read still lets one connection in at a time.
      if (this.parsed + this.reserved >= this.maxParsed) break;
      this.starved.delete(conn);
      const waiting = (conn as unknown as { client?: WindowedClient }).client;
      if (waiting) {
        // Room for a whole read, kept until mayRead learns the read's size.
        this.keep(waiting, perRead);
        waiting.tetherLetIn = true;
      }
      conn.kick();
    }
  }

  /**
   * Whether a connection may be handed a read of `bytes`. Not while its window
   * is full (its own `done` kicks it), nor while the publishes parsed and the
   * room kept for reads not yet parsed reach the budget: then it waits in
   * `starved` until `done` lets it in. A read handed over keeps room for the
   * publishes it likely holds until it is parsed (`consumed`). A connection
   * still signing in is always read (its CONNECT).
   */
  mayRead(conn: BoundedReads, bytes: number): boolean {
    const client = (conn as unknown as { client?: WindowedClient }).client;
    if (!client?.connackSent) return true;
    const outstanding = (client.tetherInProgress ?? 0) + (client.tetherHeld?.length ?? 0);
    if (outstanding >= this.receiveMaximum) return false;
    const likely = Math.max(1, Math.floor(bytes / this.meanPublishBytes));
    if (client.tetherLetIn) {
      // The read it was let in for: room was kept for a whole read; now its size is known.
      client.tetherLetIn = false;
      this.keep(client, likely);
      return true;
    }
    if (this.parsed + this.reserved < this.maxParsed) {
      this.keep(client, (client.tetherReserved ?? 0) + likely);
      this.starved.delete(conn);
      return true;
    }
    this.starved.add(conn);
    return false;
  }

  /**
   * Aedes took and parsed everything the connection was handed: the room kept
   * for it and not used (fewer or larger publishes than reckoned, or other
   * packets) goes back.
   */
  consumed(conn: BoundedReads): void {
    const client = (conn as unknown as { client?: WindowedClient }).client;
    if (!client?.tetherReserved || client.tetherLetIn) return;
    this.release(client);
    // A read with no publish in it (a PINGREQ) frees room that no answer will.
    this.letIn();
  }

  /** The connection closed. */
  closed(conn: BoundedReads): void {
    this.starved.delete(conn);
    const client = (conn as unknown as { client?: WindowedClient }).client;
    if (!client?.tetherReserved) return;
    this.release(client);
    this.letIn();
  }

  /** Keeps room for `n` publishes of what the client was handed and has not parsed yet. */
  private keep(c: WindowedClient, n: number): void {
    this.reserved += n - (c.tetherReserved ?? 0);
    c.tetherReserved = n;
  }

  private release(c: WindowedClient): void {
    if (!c.tetherReserved) return;
    this.reserved -= c.tetherReserved;
    c.tetherReserved = 0;
    c.tetherLetIn = false;
  }
}
