import type { BoundedReads } from './bounded-reads.js';

/** What a window keeps on Aedes's client object: no map lookup per publish. */
interface WindowedClient {
  conn: unknown;
  /** Publishes of this client being decoded and committed (at most `receiveMaximum`). */
  tetherInProgress?: number;
  /** Its further publishes, parsed but not yet looked at, oldest first. */
  tetherHeld?: (() => void)[];
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
 */
export class PublishWindows {
  /** Publishes parsed and not yet answered, over every connection. */
  private parsed = 0;
  /** Connections refused more bytes because `parsed` reached `maxParsed`, oldest first. */
  private readonly starved = new Set<BoundedReads>();

  constructor(
    /** Publishes of one connection in progress at once; also the Receive Maximum told to MQTT 5 clients. */
    readonly receiveMaximum: number,
    /** Publishes parsed and unanswered over every connection past which connections get no more bytes (the ingest budget). */
    private readonly maxParsed: number,
  ) {}

  /** A publish of `client` was parsed: `run` starts it now if the window has room, else once an earlier one is done. */
  enter(client: object, run: () => void): void {
    const c = client as WindowedClient;
    this.parsed++;
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
    // Room in the budget: the connections that waited for it, oldest first (no iterator per message when none wait).
    if (this.starved.size === 0) return;
    for (const conn of this.starved) {
      if (this.parsed >= this.maxParsed) break;
      this.starved.delete(conn);
      conn.kick();
    }
  }

  /**
   * Whether a connection may be handed more bytes. Not while its window is
   * full (its own `done` kicks it), nor while the publishes parsed over every
   * connection reach the budget (it waits in `starved`), except that a
   * connection with nothing in progress always gets one read: so parsed
   * packets stay within the budget plus one read per connection, however many
   * devices flood, and no device is starved for ever.
   */
  mayRead(conn: BoundedReads): boolean {
    const client = (conn as unknown as { client?: WindowedClient }).client;
    const outstanding = client ? (client.tetherInProgress ?? 0) + (client.tetherHeld?.length ?? 0) : 0;
    if (outstanding === 0) return true;
    if (outstanding >= this.receiveMaximum) return false;
    if (this.parsed < this.maxParsed) return true;
    this.starved.add(conn);
    return false;
  }

  /** The connection closed. */
  closed(conn: BoundedReads): void {
    this.starved.delete(conn);
  }
}
