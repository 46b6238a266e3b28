import { describe, expect, it } from 'vitest';
import { IngestBudget } from './ingest.budget.js';

describe('IngestBudget', () => {
  it('grants room in arrival order and never lets a newcomer overtake a waiter', async () => {
    const b = new IngestBudget({ maxMessages: 2, maxBytes: 1_000_000 });
    expect(b.tryTake(10)).toBe(true);
    expect(b.tryTake(10)).toBe(true);
    expect(b.tryTake(10)).toBe(false);
    const order: number[] = [];
    const w1 = b.take(10).then(() => order.push(1));
    const w2 = b.take(10).then(() => order.push(2));
    expect(b.waiting).toBe(2);
    b.give(10);
    // One left, and a waiter holds it: a newcomer must queue behind.
    expect(b.tryTake(10)).toBe(false);
    await w1;
    b.give(10);
    await w2;
    expect(order).toEqual([1, 2]);
    expect(b.heldMessages).toBe(2);
    expect(b.heldBytes).toBe(20);
  });

  it('closes on bytes too, but lets one oversized message through when nothing is held', () => {
    const b = new IngestBudget({ maxMessages: 100, maxBytes: 1000 });
    expect(b.tryTake(5000)).toBe(true);
    expect(b.tryTake(1)).toBe(false);
    b.give(5000);
    expect(b.tryTake(600)).toBe(true);
    expect(b.tryTake(600)).toBe(true);
    expect(b.tryTake(1)).toBe(false);
  });
});
