/**
 * Receive times, in microseconds since the epoch, unique and increasing per
 * device (the device protocol, "Timestamps"). A message without `ts` is
 * stored at its receive time, and the stores are keyed by (device, key, ts):
 * two messages of one device received in the same millisecond must not get
 * the same time, or the second would read as a replay of the first.
 *
 * The wall clock gives milliseconds; a device's next time is the wall clock
 * or one microsecond past the last time given to that device, whichever is
 * later. A device that sends a thousand messages in one millisecond runs one
 * millisecond ahead, and the wall clock catches up.
 *
 * This holds within one process. A collision with a time given by another
 * process (a restart onto a clock that stepped back, two nodes serving one
 * device) is caught where it is written: see resolveStampCollisions.
 */
export class ReceiveClock {
  private readonly last = new Map<string, number>();
  private prunedAt = 0;

  constructor(private readonly wallMs: () => number = Date.now) {}

  /** The next receive time for this device. */
  next(deviceId: string): number {
    const now = this.wallMs() * 1000;
    const prev = this.last.get(deviceId);
    const t = prev !== undefined && prev >= now ? prev + 1 : now;
    this.last.set(deviceId, t);
    if (now - this.prunedAt > PRUNE_EVERY_US) this.prune(now);
    return t;
  }

  /** Records a time assigned elsewhere (a collision moved it), so later ones follow it. */
  advance(deviceId: string, t: number): void {
    const prev = this.last.get(deviceId);
    if (prev === undefined || prev < t) this.last.set(deviceId, t);
  }

  get size(): number {
    return this.last.size;
  }

  /**
   * Forgets devices whose last time is well behind the wall clock: their next
   * time is the wall clock anyway, so the entry only costs memory.
   */
  private prune(now: number): void {
    this.prunedAt = now;
    for (const [id, t] of this.last) if (t < now - PRUNE_EVERY_US) this.last.delete(id);
  }
}

const PRUNE_EVERY_US = 60_000_000;
