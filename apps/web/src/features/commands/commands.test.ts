import { describe, expect, it } from 'vitest';
import { applyCommandEvent, statusTime, upsertCommand, type Command } from './commands';

const queued: Command = {
  id: 'c1',
  deviceId: 'd',
  name: 'led',
  params: { on: true },
  createdBy: { kind: 'user', id: null },
  status: 'queued',
  timeoutMs: 30_000,
  retries: 0,
  attempts: 0,
  expiresAt: '2026-03-01T13:00:00.000Z',
  result: null,
  error: null,
  createdAt: '2026-03-01T12:00:00.000Z',
  sentAt: null,
  deliveredAt: null,
  completedAt: null,
};
const event = (status: string, updatedAt: string, extra: { result?: unknown; error?: string | null } = {}) => ({
  id: 'c1',
  name: 'led',
  status,
  result: extra.result ?? null,
  error: extra.error ?? null,
  updatedAt,
});

describe('applyCommandEvent', () => {
  it('walks queued → sent → delivered → succeeded, stamping each step', () => {
    let c = applyCommandEvent(queued, event('sent', '2026-03-01T12:00:01.000Z'));
    c = applyCommandEvent(c, event('delivered', '2026-03-01T12:00:02.000Z'));
    c = applyCommandEvent(c, event('succeeded', '2026-03-01T12:00:03.000Z', { result: { ok: true } }));
    expect(c).toMatchObject({
      status: 'succeeded',
      sentAt: '2026-03-01T12:00:01.000Z',
      deliveredAt: '2026-03-01T12:00:02.000Z',
      completedAt: '2026-03-01T12:00:03.000Z',
      result: { ok: true },
    });
    expect(statusTime(c)).toBe('2026-03-01T12:00:03.000Z');
  });

  it('never moves a command back, nor from one final state to another', () => {
    const done = applyCommandEvent(queued, event('failed', '2026-03-01T12:00:03.000Z', { error: 'jammed' }));
    expect(done).toMatchObject({ status: 'failed', error: 'jammed' });
    expect(applyCommandEvent(done, event('sent', '2026-03-01T12:00:04.000Z'))).toBe(done);
    expect(applyCommandEvent(done, event('expired', '2026-03-01T12:00:04.000Z'))).toBe(done);
    expect(applyCommandEvent(queued, event('bogus', '2026-03-01T12:00:04.000Z'))).toBe(queued);
  });

  it('counts a resend as another attempt', () => {
    const sent = applyCommandEvent({ ...queued, attempts: 1 }, event('sent', '2026-03-01T12:00:01.000Z'));
    const resent = applyCommandEvent({ ...sent, status: 'sent' }, event('sent', '2026-03-01T12:00:31.000Z'));
    expect(resent).toMatchObject({ attempts: 2, sentAt: '2026-03-01T12:00:31.000Z' });
  });
});

describe('upsertCommand', () => {
  it('adds new commands newest first and keeps the copy that is further along', () => {
    const older = { ...queued, id: 'c0', createdAt: '2026-03-01T11:00:00.000Z' };
    const live = applyCommandEvent(queued, event('delivered', '2026-03-01T12:00:02.000Z'));
    const list = upsertCommand([older], live);
    expect(list.map((c) => c.id)).toEqual(['c1', 'c0']);
    // The POST answer (queued or sent) arrives after the live event: it does not undo it.
    expect(upsertCommand(list, { ...queued, status: 'sent' })).toBe(list);
    expect(upsertCommand(list, { ...queued, status: 'succeeded' })[0]!.status).toBe('succeeded');
  });
});
