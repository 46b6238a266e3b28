/**
 * The room ingest gives to uncommitted messages: a count and payload bytes.
 * A message takes room when it arrives and gives it back once its batch has
 * committed or failed. While the budget is spent, MQTT publishes wait in
 * arrival order (their PUBACK waits too, and Aedes reads nothing more from
 * that connection meanwhile: the device's own window stops it), and HTTP
 * posts are refused with 503. So memory is bounded by the budget, not by
 * devices × their in-flight windows.
 *
 * The budget is open while both figures are below their limits, so a single
 * message larger than the byte limit still passes when nothing else waits.
 */
export interface BudgetLimits {
  maxMessages: number;
  maxBytes: number;
}

interface Waiter {
  bytes: number;
  grant(): void;
}

export class IngestBudget {
  private messages = 0;
  private bytesHeld = 0;
  /** FIFO of waiting messages; `head` avoids Array#shift on long queues. */
  private waiters: Waiter[] = [];
  private head = 0;

  constructor(private readonly limits: BudgetLimits) {}

  get maxMessages(): number {
    return this.limits.maxMessages;
  }
  get heldMessages(): number {
    return this.messages;
  }
  get heldBytes(): number {
    return this.bytesHeld;
  }
  get waiting(): number {
    return this.waiters.length - this.head;
  }

  private get open(): boolean {
    return this.messages < this.limits.maxMessages && this.bytesHeld < this.limits.maxBytes;
  }

  /** Takes room for one message now, or returns false (nobody may overtake a waiter). */
  tryTake(bytes: number): boolean {
    if (this.waiting > 0 || !this.open) return false;
    this.messages++;
    this.bytesHeld += bytes;
    return true;
  }

  /** Resolves once the message has room, after every message that waited before it. */
  take(bytes: number): Promise<void> {
    if (this.tryTake(bytes)) return Promise.resolve();
    return new Promise((grant) => this.waiters.push({ bytes, grant }));
  }

  /** Gives back one message's room and lets waiters in while there is room. */
  give(bytes: number): void {
    this.messages--;
    this.bytesHeld -= bytes;
    while (this.head < this.waiters.length && this.open) {
      const w = this.waiters[this.head++]!;
      this.messages++;
      this.bytesHeld += w.bytes;
      w.grant();
    }
    if (this.head > 1024 && this.head * 2 > this.waiters.length) {
      this.waiters = this.waiters.slice(this.head);
      this.head = 0;
    }
  }
}
