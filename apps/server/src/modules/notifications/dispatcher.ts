/**
 * First attempts of deliveries made at once on this node, within two bounds:
 * at most `perTarget` in flight per target, so that a receiver that hangs
 * holds up only its own deliveries, and `total` in all. What waits is kept in
 * order per target, up to `backlog` each, and started a target at a time in
 * turn. Past a target's backlog `offer` says no, and the caller queues a job.
 * Nothing here is durable: a delivery offered is already a committed row,
 * which a worker queues if this node stops before it is attempted.
 */
export class DirectDispatcher {
  private readonly targets = new Map<string, { running: number; waiting: string[] }>();
  private running = 0;
  private stopped = false;

  constructor(
    private readonly limits: { total: number; perTarget: number; backlog: number },
    /** One attempt; must not reject. */
    private readonly run: (deliveryId: string) => Promise<void>,
  ) {}

  offer(targetId: string, deliveryId: string): boolean {
    if (this.stopped) return false;
    let t = this.targets.get(targetId);
    if (!t) this.targets.set(targetId, (t = { running: 0, waiting: [] }));
    if (t.waiting.length >= this.limits.backlog) return false;
    t.waiting.push(deliveryId);
    this.pump();
    return true;
  }

  /** Deliveries waiting for a slot (not yet attempted). */
  get waiting(): number {
    let n = 0;
    for (const t of this.targets.values()) n += t.waiting.length;
    return n;
  }

  /** Starts nothing more; what waits is left to the stranded-delivery sweep after the restart. */
  stop(): void {
    this.stopped = true;
  }

  private pump(): void {
    let started = true;
    while (started && this.running < this.limits.total && !this.stopped) {
      started = false;
      for (const [key, t] of this.targets) {
        if (this.running >= this.limits.total) break;
        if (!t.waiting.length || t.running >= this.limits.perTarget) continue;
        const id = t.waiting.shift()!;
        t.running++;
        this.running++;
        started = true;
        void this.run(id).finally(() => {
          t.running--;
          this.running--;
          if (!t.running && !t.waiting.length && this.targets.get(key) === t) this.targets.delete(key);
          this.pump();
        });
      }
    }
  }
}
