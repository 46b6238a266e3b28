import { describe, expect, it } from 'vitest';
import { DirectDispatcher } from './dispatcher.js';

describe('DirectDispatcher', () => {
  it('keeps a target that hangs to its own slots, and starts the others at once', async () => {
    const release = new Map<string, () => void>();
    const started: string[] = [];
    const d = new DirectDispatcher({ total: 6, perTarget: 2, backlog: 3 }, (id) => {
      started.push(id);
      return new Promise<void>((r) => release.set(id, r));
    });
    for (let i = 0; i < 5; i++) expect(d.offer('hangs', `h${i}`)).toBe(true);
    // Two running, three waiting: the backlog is full.
    expect(d.offer('hangs', 'h5')).toBe(false);
    expect(started).toEqual(['h0', 'h1']);
    for (let i = 0; i < 3; i++) d.offer('good', `g${i}`);
    expect(started).toEqual(['h0', 'h1', 'g0', 'g1']);
    release.get('g0')!();
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual(['h0', 'h1', 'g0', 'g1', 'g2']);
    expect(d.waiting).toBe(3);
    release.get('h0')!();
    await new Promise((r) => setImmediate(r));
    expect(started.at(-1)).toBe('h2');
  });

  it('never runs more than the total, and takes targets in turn', async () => {
    const release: (() => void)[] = [];
    const started: string[] = [];
    const d = new DirectDispatcher({ total: 2, perTarget: 2, backlog: 10 }, (id) => {
      started.push(id);
      return new Promise<void>((r) => release.push(r));
    });
    for (const id of ['a1', 'a2', 'a3']) d.offer('a', id);
    for (const id of ['b1', 'b2']) d.offer('b', id);
    expect(started).toEqual(['a1', 'a2']);
    release.shift()!();
    release.shift()!();
    await new Promise((r) => setImmediate(r));
    expect(started.slice(2).sort()).toEqual(['a3', 'b1']);
  });
});
