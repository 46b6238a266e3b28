import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Batcher, type BatcherOptions } from './ingest.batcher.js';

interface WriteCall {
  items: number[];
  /** Completes the write; `errors[i]` fails item i only. */
  finish(errors?: Record<number, unknown>): void;
  /** Fails the whole write (the transaction threw). */
  fail(err: unknown): void;
}

/** A Batcher whose writes stay in flight until the test finishes them. */
function harness(opts: Partial<Omit<BatcherOptions<number>, 'write'>> = {}) {
  const calls: WriteCall[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const onError = vi.fn();
  const batcher = new Batcher<number>({
    maxBatch: 100,
    flushMs: 10,
    concurrency: 1,
    onError,
    ...opts,
    write: (items) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      return new Promise((resolve, reject) => {
        calls.push({
          items: [...items],
          finish: (errors = {}) => {
            inFlight--;
            resolve(items.map((_, i) => errors[i]));
          },
          fail: (err) => {
            inFlight--;
            reject(err);
          },
        });
      });
    },
  });
  /** Submits items and records how each one settled. */
  const outcomes = new Map<number, 'ok' | unknown>();
  const submit = (...items: number[]) =>
    items.map((n) =>
      batcher.submit(n).then(
        () => void outcomes.set(n, 'ok'),
        (err: unknown) => void outcomes.set(n, err),
      ),
    );
  return { batcher, calls, outcomes, submit, onError, maxInFlight: () => maxInFlight };
}

const tick = () => vi.advanceTimersByTimeAsync(0);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Batcher', () => {
  it('writes a full batch at once, without waiting for the timer', async () => {
    const h = harness({ maxBatch: 3, flushMs: 60_000, concurrency: 4 });
    h.submit(1, 2, 3, 4, 5, 6, 7);
    await tick();
    expect(h.calls.map((c) => c.items)).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    // The remainder goes when its timer fires.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.calls.map((c) => c.items)).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
  });

  it('flushes a partial batch flushMs after its first item', async () => {
    const h = harness({ maxBatch: 100, flushMs: 50 });
    h.submit(1);
    await vi.advanceTimersByTimeAsync(30);
    h.submit(2);
    await vi.advanceTimersByTimeAsync(19);
    expect(h.calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.calls.map((c) => c.items)).toEqual([[1, 2]]);
  });

  it('resolves each submit only after its batch is written', async () => {
    const h = harness({ flushMs: 5 });
    const [p] = h.submit(1);
    await vi.advanceTimersByTimeAsync(5);
    expect(h.calls).toHaveLength(1);
    expect(h.outcomes.has(1)).toBe(false);
    h.calls[0]!.finish();
    await p;
    expect(h.outcomes.get(1)).toBe('ok');
  });

  it('never runs more than `concurrency` writes at once', async () => {
    const h = harness({ maxBatch: 1, flushMs: 5, concurrency: 2 });
    h.submit(1, 2, 3, 4, 5);
    await vi.advanceTimersByTimeAsync(100);
    expect(h.calls.map((c) => c.items)).toEqual([[1], [2]]);
    h.calls[0]!.finish();
    await tick();
    expect(h.calls.map((c) => c.items)).toEqual([[1], [2], [3]]);
    for (let i = 1; i < 5; i++) {
      h.calls[i]!.finish();
      await tick();
    }
    expect(h.calls.map((c) => c.items)).toEqual([[1], [2], [3], [4], [5]]);
    expect(h.maxInFlight()).toBe(2);
    expect([...h.outcomes.values()]).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
  });

  it('accumulates items while writes are in flight, so the next batch is bigger', async () => {
    const h = harness({ maxBatch: 100, flushMs: 5, concurrency: 1 });
    h.submit(1);
    await vi.advanceTimersByTimeAsync(5);
    expect(h.calls.map((c) => c.items)).toEqual([[1]]);
    h.submit(2, 3, 4, 5, 6);
    // No timer flushes them while the only write slot is busy.
    await vi.advanceTimersByTimeAsync(1000);
    expect(h.calls).toHaveLength(1);
    expect(h.batcher.pending).toBe(6);
    h.calls[0]!.finish();
    await tick();
    expect(h.calls.map((c) => c.items)).toEqual([[1], [2, 3, 4, 5, 6]]);
  });

  it('caps the accumulated batch at maxBatch', async () => {
    const h = harness({ maxBatch: 4, flushMs: 5, concurrency: 1 });
    h.submit(1);
    await vi.advanceTimersByTimeAsync(5);
    h.submit(2, 3, 4, 5, 6, 7);
    h.calls[0]!.finish();
    await tick();
    expect(h.calls.map((c) => c.items)).toEqual([[1], [2, 3, 4, 5]]);
    h.calls[1]!.finish();
    await tick();
    expect(h.calls.map((c) => c.items)).toEqual([[1], [2, 3, 4, 5], [6, 7]]);
  });

  it('rejects only the items the write reports as failed', async () => {
    const h = harness({ maxBatch: 3, flushMs: 5 });
    const bad = new Error('poison');
    const ps = h.submit(1, 2, 3);
    await tick();
    h.calls[0]!.finish({ 1: bad });
    await Promise.all(ps);
    expect(h.outcomes.get(1)).toBe('ok');
    expect(h.outcomes.get(2)).toBe(bad);
    expect(h.outcomes.get(3)).toBe('ok');
    expect(h.onError).not.toHaveBeenCalled();
  });

  it('rejects every item of a write that throws, reports it, and keeps going', async () => {
    const h = harness({ maxBatch: 2, flushMs: 5 });
    const boom = new Error('database down');
    const ps = h.submit(1, 2, 3);
    await tick();
    h.calls[0]!.fail(boom);
    await tick();
    expect(h.outcomes.get(1)).toBe(boom);
    expect(h.outcomes.get(2)).toBe(boom);
    expect(h.onError).toHaveBeenCalledWith(boom, [1, 2]);
    // Item 3 queued behind the failed write is written next, and succeeds.
    expect(h.calls.map((c) => c.items)).toEqual([[1, 2], [3]]);
    h.calls[1]!.finish();
    await Promise.all(ps);
    expect(h.outcomes.get(3)).toBe('ok');
  });

  it('counts queued and in-flight items as pending', async () => {
    const h = harness({ maxBatch: 2, flushMs: 5, concurrency: 1 });
    expect(h.batcher.pending).toBe(0);
    h.submit(1, 2, 3);
    await tick();
    expect(h.batcher.pending).toBe(3);
    h.calls[0]!.finish();
    await tick();
    expect(h.batcher.pending).toBe(1);
    h.calls[1]!.finish();
    await tick();
    expect(h.batcher.pending).toBe(0);
  });

  it('drain() flushes at once and waits for every write to finish', async () => {
    const h = harness({ maxBatch: 2, flushMs: 60_000, concurrency: 1 });
    h.submit(1, 2, 3, 4, 5);
    let drained = false;
    const d = h.batcher.drain().then(() => (drained = true));
    await tick();
    expect(h.calls.map((c) => c.items)).toEqual([[1, 2]]);
    for (let i = 0; i < 3; i++) {
      expect(drained).toBe(false);
      h.calls[i]!.finish();
      await tick();
    }
    await d;
    expect(h.calls.map((c) => c.items)).toEqual([[1, 2], [3, 4], [5]]);
    expect([...h.outcomes.keys()].sort()).toEqual([1, 2, 3, 4, 5]);
    expect(h.batcher.pending).toBe(0);
  });

  it('drain() also waits for a write whose items failed', async () => {
    const h = harness({ flushMs: 5 });
    h.submit(1);
    await vi.advanceTimersByTimeAsync(5);
    let drained = false;
    const d = h.batcher.drain().then(() => (drained = true));
    await tick();
    expect(drained).toBe(false);
    h.calls[0]!.fail(new Error('x'));
    await d;
    expect(h.outcomes.get(1)).toBeInstanceOf(Error);
  });

  it('drain() on an idle batcher resolves at once', async () => {
    const h = harness();
    await expect(h.batcher.drain()).resolves.toBeUndefined();
    expect(h.calls).toHaveLength(0);
  });
});
