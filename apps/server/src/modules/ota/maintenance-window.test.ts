import { describe, expect, it } from 'vitest';
import { windowOpen, windowProblem } from './maintenance-window.js';

describe('maintenance window', () => {
  it('opens between start and end, in its own time zone', () => {
    const w = { start: '02:00', end: '04:00', timezone: 'Europe/Berlin' };
    // 2026-12-07 is a Monday; Berlin is UTC+1 in winter.
    expect(windowOpen(w, new Date('2026-12-07T01:30:00Z'))).toBe(true); // 02:30 Berlin
    expect(windowOpen(w, new Date('2026-12-07T00:59:00Z'))).toBe(false); // 01:59 Berlin
    expect(windowOpen(w, new Date('2026-12-07T03:00:00Z'))).toBe(false); // 04:00 Berlin: end is exclusive
  });

  it('runs past midnight, counted for the day it opened on', () => {
    const w = { start: '22:00', end: '02:00', timezone: 'UTC', days: [1] }; // Monday nights
    expect(windowOpen(w, new Date('2026-12-07T23:00:00Z'))).toBe(true); // Monday 23:00
    expect(windowOpen(w, new Date('2026-12-08T01:00:00Z'))).toBe(true); // Tuesday 01:00, Monday's window
    expect(windowOpen(w, new Date('2026-12-08T23:00:00Z'))).toBe(false); // Tuesday night
    expect(windowOpen(w, new Date('2026-12-07T01:00:00Z'))).toBe(false); // Monday 01:00 is Sunday's window
  });

  it('equal start and end is the whole day', () => {
    expect(windowOpen({ start: '00:00', end: '00:00', timezone: 'UTC', days: [0, 6] }, new Date('2026-12-06T12:00:00Z'))).toBe(true); // Sunday
    expect(windowOpen({ start: '00:00', end: '00:00', timezone: 'UTC', days: [0, 6] }, new Date('2026-12-07T12:00:00Z'))).toBe(false);
  });

  it('explains what is wrong', () => {
    expect(windowProblem({ start: '2:00', end: '04:00', timezone: 'UTC' })).toMatch(/HH:MM/);
    expect(windowProblem({ start: '02:00', end: '04:00', timezone: 'Mars/Olympus' })).toMatch(/IANA/);
    expect(windowProblem({ start: '02:00', end: '04:00', timezone: 'UTC', days: [7] })).toMatch(/Sunday/);
    expect(windowProblem({ start: '02:00', end: '04:00', timezone: 'America/New_York', days: [1, 2] })).toBeNull();
  });
});
