/**
 * Early warning (issue 16) end to end: heartbeats posted through the HTTP device
 * API of a listening server, the worker's scan run, then the at-risk list, a
 * device's gap chart, and a health_warning alarm rule raising and clearing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HealthScanner, scanFleet } from '../src/modules/health/health-scan.js';
import { rollUpHeartbeats } from '../src/modules/health/health.repository.js';
import { httpJson, startServer, type TestServer } from './helpers.js';

const MIN = 60_000;

let s: TestServer;
const ids: Record<string, string> = {};
const tokens: Record<string, string> = {};
let plant = '';
let office = '';
const now = Date.now();

interface Item {
  id: string;
  name: string;
  projectId: string;
  score: number;
  reasons: string[];
  since: string;
  firstWarnedAt: string;
  assessedAt: string;
  at: string;
  gapS: number;
  deviceId: string;
  ruleId: string;
  severity: string;
  message: string;
  clearedAt: string | null;
}
/** The fields these tests read of the answers they get (at-risk, gaps, alarms, rules). */
interface Body {
  items: Item[];
  total: number;
  assessed: number;
  scannedAt: string | null;
  truncated: boolean;
  id: string;
  error: { code: string };
}
const get = async (path: string) => {
  const r = await httpJson(`${s.httpUrl}${path}`, { token: s.api.token });
  return { status: r.status, body: r.body as unknown as Body };
};
const post = async (path: string, body: unknown) => {
  const r = await httpJson(`${s.httpUrl}${path}`, { method: 'POST', token: s.api.token, body: JSON.stringify(body) });
  return { status: r.status, body: r.body as unknown as Body };
};

/** Heartbeat times ending at `end`, oldest first, from the gaps (ms) between them. */
function timesFrom(end: number, gapsMs: number[]): number[] {
  const out = [end];
  for (let i = gapsMs.length - 1; i >= 0; i--) out.unshift(out[0]! - gapsMs[i]!);
  return out;
}

async function send(name: string, times: number[]) {
  for (let i = 0; i < times.length; i += 25) {
    const rs = await Promise.all(
      times
        .slice(i, i + 25)
        .map((ts) => httpJson(`${s.httpUrl}/api/v1/device/heartbeat`, { method: 'POST', token: tokens[name], body: JSON.stringify({ ts }) })),
    );
    for (const r of rs) expect(r.status).toBe(202);
  }
}

beforeAll(async () => {
  s = await startServer();
  plant = (await s.api.projects.create({ name: 'plant' })).id;
  office = (await s.api.projects.create({ name: 'office' })).id;
  for (const [name, projectId] of [
    ['failing', plant],
    ['steady', plant],
    ['jittery', office],
    ['young', office],
    ['later', office],
  ] as const) {
    const d = await s.api.devices.create({ name, projectId });
    ids[name] = d.id;
    tokens[name] = d.token;
  }
  // failing: 120 beats a minute apart, then 30 gaps growing from 1 to 8 minutes; its last beat a minute ago.
  const grow = Array.from({ length: 30 }, (_, i) => MIN * (1 + (7 * i) / 29));
  await send('failing', timesFrom(now - MIN, [...Array<number>(120).fill(MIN), ...grow]));
  // steady: 150 gaps of a minute; jittery: 150 gaps of 40..80 s with a missed beat every 25 (healthy, noisy).
  await send('steady', timesFrom(now - 20_000, Array<number>(150).fill(MIN)));
  const jitter = Array.from({ length: 150 }, (_, i) => (i % 25 === 24 ? 2 * MIN : 40_000 + ((i * 7919) % 41) * 1000));
  await send('jittery', timesFrom(now - 30_000, jitter));
  // young: 20 beats, too little history to judge.
  await send('young', timesFrom(now - 10_000, Array<number>(19).fill(5 * MIN)));
  // later: a beat a second until a minute ago (its growing gaps come in a test, for the incremental scan).
  await send('later', timesFrom(now - MIN, Array<number>(150).fill(1000)));
  // The scan reads the devices the rollup has heard of (heartbeat_span): the worker's minute run, here at once.
  await rollUpHeartbeats(s.tether.db);
}, 120_000);

afterAll(async () => {
  await s?.close();
});

describe('early-warning scan', () => {
  it('flags the device whose gaps grow, with a score and reasons, and not the steady, noisy or new ones', async () => {
    const r = await scanFleet(s.tether.db);
    expect(r).toMatchObject({ kind: 'full', assessed: 5, warned: 1, beatsRead: 4 * 151 + 20 });
    const page = await get('/api/v1/health/at-risk');
    expect(page.status).toBe(200);
    expect(page.body.assessed).toBe(5);
    expect(page.body.scannedAt).not.toBeNull();
    expect(page.body.total).toBe(1);
    const w = page.body.items[0]!;
    expect(w).toMatchObject({ id: ids.failing, name: 'failing', projectId: plant });
    expect(w.score).toBeGreaterThanOrEqual(0.5);
    expect(w.reasons.join(' ')).toMatch(/gaps grew from|late/);
    // The warning began within the growing stretch (its 30 gaps took 136 minutes), not before.
    expect(Date.parse(w.since)).toBeGreaterThanOrEqual(now - 137 * MIN);
    expect(Date.parse(w.since)).toBeLessThan(now - MIN);
    expect(Date.parse(w.firstWarnedAt)).toBe(Date.parse(w.assessedAt));
  });

  it('keeps firstWarnedAt across scans and filters by project and score', async () => {
    const before = (await get('/api/v1/health/at-risk')).body.items[0]!;
    await new Promise((r) => setTimeout(r, 20));
    await scanFleet(s.tether.db);
    const after = (await get('/api/v1/health/at-risk')).body.items[0]!;
    expect(after.firstWarnedAt).toBe(before.firstWarnedAt);
    expect(Date.parse(after.assessedAt)).toBeGreaterThan(Date.parse(before.assessedAt));
    expect((await get(`/api/v1/health/at-risk?projectId=${office}`)).body.total).toBe(0);
    expect((await get(`/api/v1/health/at-risk?projectId=${plant}`)).body.total).toBe(1);
    expect((await get(`/api/v1/health/at-risk?minScore=1`)).body.total).toBe(after.score >= 1 ? 1 : 0);
    expect((await get(`/api/v1/health/at-risk?minScore=2`)).status).toBe(400);
  });

  it("gives a device's gaps for its chart, oldest first", async () => {
    const r = await get(`/api/v1/health/devices/${ids.failing}/gaps?from=${new Date(now - 3 * 3_600_000).toISOString()}`);
    expect(r.status).toBe(200);
    const gaps = r.body.items;
    expect(gaps.length).toBeGreaterThan(30);
    expect(gaps.at(-1)!.gapS).toBeCloseTo(480, 3);
    expect(Date.parse(gaps.at(-1)!.at)).toBe(now - MIN);
    for (let i = 1; i < gaps.length; i++) expect(Date.parse(gaps[i]!.at)).toBeGreaterThan(Date.parse(gaps[i - 1]!.at));
    const few = await get(`/api/v1/health/devices/${ids.failing}/gaps?from=${new Date(now - 3 * 3_600_000).toISOString()}&limit=5`);
    expect(few.body.items).toHaveLength(5);
    expect(few.body.truncated).toBe(true);
    expect((await get(`/api/v1/health/devices/00000000-0000-4000-8000-000000000000/gaps`)).status).toBe(404);
  });
});

describe('incremental scans', () => {
  it('read only the heartbeats since the last scan and judge as a full scan does', async () => {
    const scanner = new HealthScanner(s.tether.db);
    const first = await scanner.scan();
    expect(first).toMatchObject({ kind: 'full', assessed: 5, warned: 1, beatsRead: 4 * 151 + 20 });
    // later's gaps now grow: 30 of them after its last beat, from 1 to 8 units, up to now. They are as
    // recent as any heartbeat read so far, as live heartbeats are (older ones wait for the hourly full read).
    const units = Array.from({ length: 30 }, (_, i) => 1 + (7 * i) / 29);
    const end = Date.now() - 500;
    const unit = (end - (now - MIN)) / units.reduce((a, u) => a + u, 0);
    const times = timesFrom(
      end,
      units.map((u) => u * unit),
    ).slice(1);
    await send('later', times);
    const r = await scanner.scan();
    expect(r).toMatchObject({ kind: 'incremental', assessed: 5, warned: 2 });
    expect(r.beatsRead).toBeGreaterThanOrEqual(times.length);
    expect(r.beatsRead).toBeLessThan(first.beatsRead / 4); // the last two minutes' beats, not every device's last 151
    const incremental = (await get('/api/v1/health/at-risk')).body.items.map((w) => [w.id, w.score, w.reasons]);
    expect(incremental.map((w) => w[0])).toContain(ids.later);
    await scanFleet(s.tether.db);
    expect((await get('/api/v1/health/at-risk')).body.items.map((w) => [w.id, w.score, w.reasons])).toEqual(incremental);
  });
});

describe('health_warning alarm rule', () => {
  it('raises for a flagged device with the reasons, and clears when the scan no longer flags it', async () => {
    const rule = await post('/api/v1/alarm-rules', {
      scope: 'project',
      scopeId: plant,
      name: 'At risk',
      kind: 'health_warning',
      condition: { minScore: 0.5 },
      severity: 'major',
      message: '{{device.name}} may fail soon ({{score}}): {{reasons}}',
    });
    expect(rule.status).toBe(201);
    const bad = await post('/api/v1/alarm-rules', {
      scope: 'org',
      name: 'x',
      kind: 'health_warning',
      condition: { minScore: 0.2 },
      severity: 'minor',
      message: 'm',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_FAILED');

    await s.tether.alarms!.sweep();
    const open = await get(`/api/v1/alarms?state=open`);
    expect(open.body.items).toHaveLength(1);
    expect(open.body.items[0]).toMatchObject({ deviceId: ids.failing, ruleId: rule.body.id, severity: 'major' });
    expect(open.body.items[0]!.message).toMatch(/^failing may fail soon \(0\.\d+\): .*(gaps grew from|late)/);
    // A second sweep while still flagged raises nothing new.
    await s.tether.alarms!.sweep();
    expect((await get(`/api/v1/alarms?state=open`)).body.items).toHaveLength(1);

    // Retired: not judged any more, its warning goes, and the alarm clears.
    expect((await post(`/api/v1/devices/${ids.failing}/retire`, { reason: 'replaced' })).status).toBe(200);
    await scanFleet(s.tether.db);
    expect((await get('/api/v1/health/at-risk')).body.items.map((w) => w.id)).not.toContain(ids.failing);
    await s.tether.alarms!.sweep();
    expect((await get(`/api/v1/alarms?state=open`)).body.items).toHaveLength(0);
    const all = await get(`/api/v1/alarms`);
    expect(all.body.items[0]!.clearedAt).not.toBeNull();
  });
});
