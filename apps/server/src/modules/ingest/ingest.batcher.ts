/**
 * Groups submitted items into batches: a batch is flushed when it is full or
 * `flushMs` after its first item. While `concurrency` writes are in flight,
 * new items accumulate, so batches grow with load (one transaction each).
 */
export interface BatcherOptions<T> {
  maxBatch: number;
  flushMs: number;
  concurrency: number;
  /** Writes a batch; returns, per item, the error that item failed with (or undefined). */
  write(items: T[]): Promise<(unknown | undefined)[]>;
  onError?(err: unknown, items: T[]): void;
}

interface Entry<T> {
  item: T;
  resolve(): void;
  reject(err: unknown): void;
}

export class Batcher<T> {
  private queue: Entry<T>[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | null = null;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: BatcherOptions<T>) {}

  /** Messages accepted but not yet committed. */
  get pending(): number {
    return this.queue.length + this.inFlightItems;
  }
  private inFlightItems = 0;

  /** Resolves once the item's batch has committed; rejects if it failed. */
  submit(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.queue.length >= this.opts.maxBatch) this.kick();
      else if (!this.timer && this.inFlight < this.opts.concurrency) {
        this.timer = setTimeout(() => {
          this.timer = null;
          this.kick();
        }, this.opts.flushMs);
      }
    });
  }

  private kick(): void {
    while (this.queue.length && this.inFlight < this.opts.concurrency) {
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = null;
      }
      const batch = this.queue.splice(0, this.opts.maxBatch);
      this.inFlight++;
      this.inFlightItems += batch.length;
      void this.run(batch);
    }
  }

  private async run(batch: Entry<T>[]): Promise<void> {
    try {
      const errors = await this.opts.write(batch.map((e) => e.item));
      batch.forEach((e, i) => (errors[i] === undefined ? e.resolve() : e.reject(errors[i])));
    } catch (err) {
      this.opts.onError?.(
        err,
        batch.map((e) => e.item),
      );
      for (const e of batch) e.reject(err);
    } finally {
      this.inFlight--;
      this.inFlightItems -= batch.length;
      // Whatever arrived while we wrote goes out now, as one bigger batch.
      if (this.queue.length) this.kick();
      else if (this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /** Flushes everything queued and waits for every in-flight write. */
  async drain(): Promise<void> {
    this.kick();
    if (this.queue.length === 0 && this.inFlight === 0) return;
    await new Promise<void>((r) => this.idleWaiters.push(r));
  }
}
