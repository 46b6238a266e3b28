/**
 * Fleet health (issue 16) end to end: heartbeats posted through the HTTP device
 * API of a listening server, the heartbeat rollup run, then the answers read
 * through REST. Times are anchored to today's UTC midnight (D0) so the daily
 * silent series has known values whatever the hour the test runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEARTBEAT_GAP_BOUNDS, rollUpHeartbeats } from '../src/modules/health/health.repository.js';
import { httpJson, startServer, type TestServer } from './helpers.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

let s: TestServer;
const now = Date.now();
const D0 = Math.floor(now / DAY) * DAY;
const ids: Record<string, string> = {};
const beats: Record<string, number[]> = {};
let projectId = '';
const tokens: Record<string, string> = {};

const get = (path: string) => httpJson(`${s.httpUrl}${path}`, { token: s.api.token });
const post = (path: string, body: unknown) => httpJson(`${s.httpUrl}${path}`, { method: 'POST', token: s.api.token, body: JSON.stringify(body) });

function series(from: number, to: number, stepMs: number, skip: number[] = []): number[] {
  const out: number[] = [];
  for (let t = from; t <= to; t += stepMs) if (!skip.includes(t)) out.push(t);
  return out;
}

beforeAll(async () => {
  s = await startServer();
  projectId = (await s.api.projects.create({ name: 'health' })).id;
  for (const name of ['steady', 'died', 'never', 'retired', 'other']) {
    const d = await s.api.devices.create({ name, projectId: name === 'other' ? undefined : projectId, tags: name === 'other' ? [] : ['plant'] });
    ids[name] = d.id;
    tokens[name] = d.token;
  }
  // steady: every 5 min from D0 − 3 h to about now (crosses midnight and every hour since). It lives
  // longer than died's hour at any time of day (from D0 − 1 h it tied with it just after midnight).
  beats.steady = series(D0 - 3 * HOUR, now - MIN, 5 * MIN);
  // died: every minute for an hour two days ago (one beat missing: a 2-minute gap), then silence.
  const died0 = D0 - 2 * DAY + 10 * HOUR;
  beats.died = series(died0, died0 + HOUR, MIN, [died0 + 30 * MIN]);
  // retired: half an hour two days ago; retired by the test (now).
  beats.retired = series(D0 - 2 * DAY + 12 * HOUR, D0 - 2 * DAY + 12 * HOUR + 30 * MIN, MIN);
  beats.other = series(now - 30 * MIN, now - MIN, MIN);
  for (const [name, list] of Object.entries(beats)) {
    for (const ts of list) {
      const r = await httpJson(`${s.httpUrl}/api/v1/device/heartbeat`, { method: 'POST', token: tokens[name], body: JSON.stringify({ ts, battery: 90 }) });
      expect(r.status).toBe(202);
    }
  }
  await rollUpHeartbeats(s.tether.db);
  expect((await post(`/api/v1/devices/${ids.retired}/retire`, { reason: 'water damage' })).status).toBe(200);
}, 120_000);

afterAll(async () => {
  await s?.close();
});

const inProject = () => `projectId=${projectId}`;

describe('heartbeat rollup', () => {
  it('pairs every heartbeat with the one before it, across hours and days: Σ(beats − 1) gaps summing to Σ(last − first)', async () => {
    const r = await get(`/api/v1/health/gaps?${inProject()}&from=${new Date(D0 - 3 * DAY).toISOString()}`);
    expect(r.status).toBe(200);
    const lists = [beats.steady!, beats.died!, beats.retired!];
    const count = lists.reduce((a, l) => a + l.length - 1, 0);
    const sum = lists.reduce((a, l) => a + (l[l.length - 1]! - l[0]!) / 1000, 0);
    const g = r.body.gaps as { count: number; heartbeats: number; meanS: number; maxS: number; medianS: number; p95S: number };
    expect(g.count).toBe(count);
    expect(g.heartbeats).toBe(count + 3);
    expect(g.meanS).toBeCloseTo(sum / count, 6);
    expect(g.maxS).toBe(300);
    // Median and p95 are estimated from the histogram: in the bucket of the exact ones.
    const gaps = lists.flatMap((l) => l.slice(1).map((t, i) => (t - l[i]!) / 1000)).sort((a, b) => a - b);
    const bucketOf = (v: number) => HEARTBEAT_GAP_BOUNDS.findIndex((b) => v < b);
    expect(bucketOf(g.medianS)).toBe(bucketOf(gaps[Math.ceil(0.5 * gaps.length) - 1]!));
    expect(bucketOf(g.p95S)).toBe(bucketOf(gaps[Math.ceil(0.95 * gaps.length) - 1]!));
    const hist = r.body.histogram as { fromS: number; toS: number | null; count: number }[];
    expect(hist.reduce((a, b) => a + b.count, 0)).toBe(count);
    expect(hist.find((b) => b.fromS === 120)!.count).toBe(1); // the died device's missing beat
    expect(hist.find((b) => b.fromS === 300)!.count).toBe(beats.steady!.length - 1);
    const meanOnly = await get(`/api/v1/health/gaps?${inProject()}&from=${new Date(D0 - 3 * DAY).toISOString()}&histogram=false`);
    // From the running totals: the same count and mean (to float rounding), without the day rows' maximum.
    expect(meanOnly.body).toMatchObject({ gaps: { count, heartbeats: count + 3, maxS: null, medianS: null, p95S: null }, histogram: [] });
    expect((meanOnly.body.gaps as { meanS: number }).meanS).toBeCloseTo(g.meanS, 9);
  });

  it('is idempotent, and a late backlog older than the look-back is picked up by the next run', async () => {
    await rollUpHeartbeats(s.tether.db);
    const before = (await get(`/api/v1/health/devices/${ids.died}?from=${new Date(D0 - 3 * DAY).toISOString()}`)).body as { gaps: { count: number } };
    expect(before.gaps.count).toBe(beats.died!.length - 1);
    // The died device's missing beat arrives late (two days old).
    const token = tokens.died!;
    const late = D0 - 2 * DAY + 10 * HOUR + 30 * MIN;
    expect((await httpJson(`${s.httpUrl}/api/v1/device/heartbeat`, { method: 'POST', token, body: JSON.stringify({ ts: late }) })).status).toBe(202);
    await rollUpHeartbeats(s.tether.db);
    const after = (await get(`/api/v1/health/devices/${ids.died}?from=${new Date(D0 - 3 * DAY).toISOString()}`)).body as {
      gaps: { count: number; maxS: number };
    };
    expect(after.gaps.count).toBe(beats.died!.length);
    expect(after.gaps.maxS).toBe(60);
    beats.died = [...beats.died!, late].sort((a, b) => a - b);
  });
});

describe('running totals', () => {
  it('are redone for every day after a late one, and answer as the day rows do', async () => {
    const other = (await s.api.projects.create({ name: 'totals' })).id;
    const d = await s.api.devices.create({ name: 'totals', projectId: other });
    const send = (ts: number) =>
      httpJson(`${s.httpUrl}/api/v1/device/heartbeat`, { method: 'POST', token: d.token, body: JSON.stringify({ ts }) }).then((r) =>
        expect(r.status).toBe(202),
      );
    // Beats on days −4, −3, −1 and today, then late ones on day −2: every later day's totals shift.
    for (const day of [-4, -3, -1]) for (const ts of series(D0 + day * DAY + HOUR, D0 + day * DAY + 2 * HOUR, 10 * MIN)) await send(ts);
    for (const ts of series(D0 + MIN, Math.min(now - MIN, D0 + HOUR), 10 * MIN)) await send(ts);
    await rollUpHeartbeats(s.tether.db);
    for (const ts of series(D0 - 2 * DAY + HOUR, D0 - 2 * DAY + 3 * HOUR, 7 * MIN)) await send(ts);
    await rollUpHeartbeats(s.tether.db);
    for (const [fromDay, toDay] of [
      [-4, -3],
      [-3, -2],
      [-3, -1],
      [-2, 1],
      [-1, 1],
      [0, 1],
    ]) {
      const range = `projectId=${other}&from=${new Date(D0 + fromDay! * DAY).toISOString()}&to=${new Date(D0 + toDay! * DAY - 1).toISOString()}`;
      const rows = (await get(`/api/v1/health/gaps?${range}`)).body.gaps as { count: number; meanS: number | null; heartbeats: number };
      const totals = (await get(`/api/v1/health/gaps?${range}&histogram=false`)).body.gaps as typeof rows;
      expect(rows.count).toBeGreaterThan(0);
      expect(totals.count).toBe(rows.count);
      expect(totals.heartbeats).toBe(rows.heartbeats);
      expect(totals.meanS).toBeCloseTo(rows.meanS!, 9);
    }
    expect((await httpJson(`${s.httpUrl}/api/v1/devices/${d.id}`, { method: 'DELETE', token: s.api.token })).status).toBe(204);
  });
});

describe('silent devices', () => {
  it('counts monitored devices only (not retired, heard once) and lists the silent ones', async () => {
    const r = await get(`/api/v1/health/silent?${inProject()}&minutes=10&from=${new Date(D0 - 2 * DAY).toISOString()}`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ devices: 4, retired: 1, neverHeard: 1, monitored: 2, silent: 1, share: 0.5 });
    expect((r.body.items as { id: string }[]).map((d) => d.id)).toEqual([ids.died]);
    // Midnights: D0−2d nobody heard yet; D0−1d died and retired heard, both silent; D0 steady too (last beat 5 min before).
    expect(r.body.series).toEqual([
      { at: new Date(D0 - 2 * DAY).toISOString(), monitored: 0, silent: 0, share: null },
      { at: new Date(D0 - DAY).toISOString(), monitored: 2, silent: 2, share: 1 },
      { at: new Date(D0).toISOString(), monitored: 3, silent: 2, share: 2 / 3 },
    ]);
  });

  it('selects by tag and template; a project of another org is not found', async () => {
    const all = await get('/api/v1/health/silent?minutes=10');
    expect(all.body).toMatchObject({ devices: 5, monitored: 3, silent: 1 });
    const tagged = await get('/api/v1/health/silent?tag=plant');
    expect(tagged.body).toMatchObject({ devices: 4 });
    const bad = await get(`/api/v1/health/silent?projectId=${ids.steady}`);
    expect(bad).toMatchObject({ status: 404, body: { error: { code: 'PROJECT_NOT_FOUND' } } });
    expect((await get('/api/v1/health/silent?minutes=0')).status).toBe(400);
    expect((await get('/api/v1/health/gaps?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z')).body.error?.code).toBe('VALIDATION_FAILED');
  });
});

describe('CSV exports', () => {
  const text = async (path: string) => {
    const r = await fetch(`${s.httpUrl}${path}`, { headers: { authorization: `Bearer ${s.api.token}` } });
    return { status: r.status, type: r.headers.get('content-type'), body: await r.text() };
  };

  it('streams a device’s heartbeats oldest first, and its telemetry key by key with quoting', async () => {
    const hb = await text(`/api/v1/devices/${ids.steady}/heartbeats.csv?from=${new Date(D0 - DAY).toISOString()}`);
    expect(hb.status).toBe(200);
    expect(hb.type).toMatch(/^text\/csv/);
    const lines = hb.body.trim().split('\r\n');
    expect(lines[0]).toBe('ts,uptime,battery,rssi,data');
    expect(lines.slice(1).map((l) => Date.parse(l.split(',')[0]!))).toEqual(beats.steady);
    expect(lines[1]!.split(',')[2]).toBe('90');

    for (const [t, v] of [
      [1, 'a,b "c"'],
      [2, 'plain'],
    ] as const) {
      const r = await httpJson(`${s.httpUrl}/api/v1/device/telemetry`, { method: 'POST', token: tokens.other, body: JSON.stringify({ temp: t, note: v }) });
      expect(r.status).toBe(202);
    }
    const tm = await text(`/api/v1/devices/${ids.other}/telemetry.csv?keys=temp,note`);
    const rows = tm.body.trim().split('\r\n');
    expect(rows[0]).toBe('key,ts,value');
    const secondComma = (l: string) => l.indexOf(',', l.indexOf(',') + 1);
    expect(rows.slice(1).map((l) => [l.split(',')[0], l.slice(secondComma(l) + 1)])).toEqual([
      ['temp', '1'],
      ['temp', '2'],
      ['note', '"a,b ""c"""'],
      ['note', 'plain'],
    ]);
  });

  it('streams one health row per device of the selection; errors before the first byte are JSON', async () => {
    const r = await text(`/api/v1/health/devices.csv?${inProject()}&minutes=10`);
    expect(r.status).toBe(200);
    const lines = r.body.trim().split('\r\n');
    expect(lines[0]!.startsWith('id,name,first_heartbeat')).toBe(true);
    expect(lines.slice(1).map((l) => l.split(',')[1])).toEqual(['died', 'never', 'retired', 'steady']);
    const bad = await text(`/api/v1/devices/${ids.steady}/heartbeats.csv?from=nonsense`);
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error.code).toBe('VALIDATION_FAILED');
  });
});

describe('lifespans', () => {
  it('ends retired and silent devices, censors the living, and computes Kaplan–Meier', async () => {
    const r = await get(`/api/v1/health/lifespans?${inProject()}&minutes=10`);
    expect(r.status).toBe(200);
    const hours = (ms: number) => Math.round(ms / HOUR) / 24;
    const died = hours(beats.died![beats.died!.length - 1]! - beats.died![0]!);
    const retiredAt = Date.parse(((await get(`/api/v1/devices/${ids.retired}`)).body.retired as { at: string }).at);
    const retired = hours(retiredAt - beats.retired![0]!); // retirement ended it
    const steady = hours(beats.steady![beats.steady!.length - 1]! - beats.steady![0]!);
    expect(r.body).toMatchObject({ devices: 3, ended: 2, alive: 1 });
    expect(r.body.meanEndedDays).toBeCloseTo((died + retired) / 2, 6);
    // By hand: died (ends at 1 h) of 3 at risk → 2/3; steady (censored, 3–27 h) leaves; retired (~2 d) of 1 → 0.
    expect(steady).toBeLessThan(retired);
    expect(r.body.survival).toEqual([
      { days: 0, survival: 1, atRisk: 3, ended: 0, censored: 0 },
      { days: died, survival: expect.closeTo(2 / 3, 12), atRisk: 3, ended: 1, censored: 0 },
      { days: retired, survival: 0, atRisk: 1, ended: 1, censored: 0 },
    ]);
    expect(r.body.medianSurvivalDays).toBe(retired);
  });
});

describe('per-device health', () => {
  it('gives gaps and uptime per device; silence beyond the threshold is downtime', async () => {
    const r = await get(`/api/v1/health/devices?${inProject()}&minutes=10&from=${new Date(D0 - 2 * DAY).toISOString()}`);
    expect(r.status).toBe(200);
    expect(r.body.total).toBe(4);
    const byName = new Map((r.body.items as { name: string; uptime: number | null; silent: boolean; thresholdS: number }[]).map((d) => [d.name, d]));
    expect(byName.get('never')).toMatchObject({ uptime: null, silent: false });
    expect(byName.get('steady')).toMatchObject({ uptime: 1, silent: false, thresholdS: 600 });
    // died: heard for one hour, silent since; downtime = the open gap beyond 600 s.
    const died = byName.get('died')!;
    const span = (Date.now() - beats.died![0]!) / 1000;
    const open = (Date.now() - beats.died![beats.died!.length - 1]!) / 1000;
    expect(died.silent).toBe(true);
    expect(died.uptime).toBeCloseTo(1 - (open - 600) / span, 3);
    const one = await get(`/api/v1/health/devices/${ids.steady}?thresholdS=100`);
    expect(one.body).toMatchObject({ id: ids.steady, thresholdS: 120 });
    expect(one.body.uptime as number).toBeLessThan(1);
  });

  it('retires and unretires (audited), 404 for an unknown device', async () => {
    const d = await get(`/api/v1/devices/${ids.retired}`);
    expect(d.body.retired).toMatchObject({ reason: 'water damage' });
    const back = await post(`/api/v1/devices/${ids.retired}/unretire`, {});
    expect(back.body.retired).toBeNull();
    const again = await post(`/api/v1/devices/${ids.retired}/retire`, { reason: 'water damage' });
    expect(again.status).toBe(200);
    expect((await post(`/api/v1/devices/00000000-0000-4000-8000-000000000000/retire`, { reason: 'x' })).body.error?.code).toBe('DEVICE_NOT_FOUND');
    expect((await post(`/api/v1/devices/${ids.retired}/retire`, { reason: '' })).status).toBe(400);
    const audit = await s.tether.db.query<{ action: string }>(
      `SELECT action FROM audit_log WHERE target_id = $1 AND action LIKE '%retire' ORDER BY created_at`,
      [ids.retired],
    );
    expect(audit.map((a) => a.action)).toEqual(['device.retire', 'device.unretire', 'device.retire']);
  });
});
