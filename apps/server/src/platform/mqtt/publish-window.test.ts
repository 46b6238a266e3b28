import { describe, expect, it } from 'vitest';
import type { BoundedReads } from './bounded-reads.js';
import { PublishWindows, READ_BYTES } from './publish-window.js';

/**
 * A connection as PublishWindows sees it: Aedes's client on the stream, and a
 * kick that, like BoundedReads, asks mayRead before it hands a read over.
 */
class FakeConn {
  readonly client: { conn: FakeConn; connackSent: boolean } = { conn: this, connackSent: true };
  /** Reads handed over (mayRead said yes after a kick). */
  reads = 0;
  wantsData = true;
  constructor(private readonly windows: PublishWindows) {}
  kick(): void {
    if (this.wantsData && this.windows.mayRead(this as unknown as BoundedReads, READ_BYTES)) this.reads++;
  }
  /** Aedes read what it was handed and parsed `n` publishes of `bytes` each from it; returns the runs started. */
  parse(n: number, bytes = 100): number {
    let started = 0;
    for (let i = 0; i < n; i++) this.windows.enter(this.client, bytes, () => started++);
    this.windows.consumed(this as unknown as BoundedReads);
    return started;
  }
  answer(n: number): void {
    for (let i = 0; i < n; i++) this.windows.done(this.client);
  }
}

const PER_READ = Math.floor(READ_BYTES / 100);

/** Publishes of `bytes` each until the mean publish size has settled on it. */
function settle(w: PublishWindows, bytes: number): void {
  const c = new FakeConn(w);
  c.wantsData = false;
  c.parse(500, bytes);
  c.answer(500);
}

describe('PublishWindows', () => {
  it('holds a connection to its Receive Maximum and starts held publishes as earlier ones are answered', () => {
    const w = new PublishWindows(4, 1000);
    const c = new FakeConn(w);
    expect(c.parse(6)).toBe(4);
    expect(w.mayRead(c as unknown as BoundedReads, READ_BYTES)).toBe(false);
    let started = 0;
    w.enter(c.client, 100, () => started++);
    c.answer(1);
    expect(started).toBe(0); // the first held one (from parse) started, not this one yet
  });

  it('lets waiting connections in only as far as the freed room goes, not all at the first answer', () => {
    const budget = 10 * PER_READ;
    const w = new PublishWindows(100_000, budget);
    settle(w, 100);
    // One connection fills the budget; twenty more have data and are refused.
    const big = new FakeConn(w);
    big.wantsData = false;
    big.parse(budget);
    const waiting = Array.from({ length: 20 }, () => new FakeConn(w));
    for (const c of waiting) expect(w.mayRead(c as unknown as BoundedReads, READ_BYTES)).toBe(false);

    // Room for three reads: three connections are let in, in the order they waited.
    big.answer(3 * PER_READ);
    expect(waiting.map((c) => c.reads)).toEqual([1, 1, 1, ...new Array<number>(17).fill(0)]);
    // Their reads are parsed a tick later; the room is kept for them meanwhile.
    big.answer(1);
    expect(waiting.filter((c) => c.reads > 0)).toHaveLength(4);

    // From here on: each read let in is parsed, and everything parsed is answered bit by bit.
    // Parsed publishes plus the room kept for reads not yet parsed never pass the budget by more than one read.
    let bigLeft = budget - 3 * PER_READ - 1;
    const parsedBy = new Map<FakeConn, number>();
    for (let step = 0; step < 10_000 && waiting.some((c) => c.reads === 0); step++) {
      for (const c of waiting) if (c.reads > 0 && !parsedBy.has(c)) parsedBy.set(c, c.parse(PER_READ));
      if (bigLeft > 0) {
        big.answer(1);
        bigLeft--;
      } else {
        const c = [...parsedBy].find(([, n]) => n > 0);
        if (c) {
          c[0].wantsData = false;
          c[0].answer(1);
          parsedBy.set(c[0], c[1] - 1);
        }
      }
      const held = bigLeft + [...parsedBy.values()].reduce((a, b) => a + b, 0);
      const unparsed = waiting.filter((c) => c.reads > 0 && !parsedBy.has(c)).length;
      expect(held + unparsed * PER_READ).toBeLessThanOrEqual(budget + PER_READ);
    }
    // Nobody is left waiting for ever.
    expect(waiting.every((c) => c.reads === 1)).toBe(true);
  });

  it('gives back the room a read did not use, so idle connections cannot take the budget for ever', () => {
    const w = new PublishWindows(100_000, 2 * PER_READ);
    settle(w, 100);
    const big = new FakeConn(w);
    big.wantsData = false;
    big.parse(2 * PER_READ);
    const a = new FakeConn(w);
    const b = new FakeConn(w);
    expect(w.mayRead(a as unknown as BoundedReads, READ_BYTES)).toBe(false);
    expect(w.mayRead(b as unknown as BoundedReads, READ_BYTES)).toBe(false);
    big.answer(PER_READ);
    expect([a.reads, b.reads]).toEqual([1, 0]);
    // a's read held 2 publishes, not PER_READ, and a then went quiet: once the read is
    // parsed, the room it did not use goes back, and b gets in.
    a.wantsData = false;
    a.parse(2);
    expect(b.reads).toBe(1);
  });

  it('lets a connection in when the budget is smaller than one read (one at a time, never stuck)', () => {
    const w = new PublishWindows(4, 3);
    settle(w, 100);
    const conns = Array.from({ length: 5 }, () => new FakeConn(w));
    /** A connection's read: `n` publishes parsed, then it has nothing more to send. */
    const sendOnce = (c: FakeConn, n: number) => {
      c.parse(n);
      c.wantsData = false;
    };
    sendOnce(conns[0]!, 3);
    for (const c of conns.slice(1)) expect(w.mayRead(c as unknown as BoundedReads, READ_BYTES)).toBe(false);
    conns[0]!.answer(1);
    expect(conns.slice(1).map((c) => c.reads)).toEqual([1, 0, 0, 0]);
    // Its read held 2: parsed publishes pass the budget by at most that one read.
    sendOnce(conns[1]!, 2);
    expect(conns.slice(1).map((c) => c.reads)).toEqual([1, 0, 0, 0]);
    // Room again: the next waiting connection, one at a time.
    conns[0]!.answer(2);
    expect(conns.slice(1).map((c) => c.reads)).toEqual([1, 1, 0, 0]);
    conns[1]!.answer(2);
    expect(conns.slice(1).map((c) => c.reads)).toEqual([1, 1, 0, 0]);
    sendOnce(conns[2]!, 1);
    conns[2]!.answer(1);
    sendOnce(conns[3]!, 1);
    conns[3]!.answer(1);
    expect(conns.slice(1).map((c) => c.reads)).toEqual([1, 1, 1, 1]);
  });

  it('a read with no publish in it (a PINGREQ) frees its room at once', () => {
    const w = new PublishWindows(100_000, PER_READ);
    settle(w, 100);
    const a = new FakeConn(w);
    const b = new FakeConn(w);
    a.wantsData = false;
    // a was handed a 2-byte read; the budget is spent by what it might hold.
    expect(w.mayRead(a as unknown as BoundedReads, 2)).toBe(true);
    const filler = Array.from({ length: PER_READ - 1 }, () => new FakeConn(w));
    for (const c of filler) expect(w.mayRead(c as unknown as BoundedReads, 100)).toBe(true);
    expect(w.mayRead(b as unknown as BoundedReads, READ_BYTES)).toBe(false);
    // It was a PINGREQ: nothing will ever be answered, yet b gets in.
    a.parse(0);
    expect(b.reads).toBe(1);
  });

  it('always reads a connection that is still signing in', () => {
    const w = new PublishWindows(4, 1);
    const busy = new FakeConn(w);
    busy.parse(1);
    const fresh = new FakeConn(w);
    fresh.client.connackSent = false;
    expect(w.mayRead(fresh as unknown as BoundedReads, READ_BYTES)).toBe(true);
  });

  it('a closed connection gives its reserved room back', () => {
    const w = new PublishWindows(100_000, PER_READ);
    settle(w, 100);
    const big = new FakeConn(w);
    big.wantsData = false;
    big.parse(PER_READ);
    const a = new FakeConn(w);
    const b = new FakeConn(w);
    w.mayRead(a as unknown as BoundedReads, READ_BYTES);
    w.mayRead(b as unknown as BoundedReads, READ_BYTES);
    big.answer(1);
    expect([a.reads, b.reads]).toEqual([1, 0]);
    w.closed(a as unknown as BoundedReads);
    expect(b.reads).toBe(1);
  });
});
