/**
 * Issue 15, locations: a device's track over any range (paged, or downsampled
 * to one position per bucket), the fleet map's last known position of every
 * device, and its live updates on the `locations` channel.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpJson, openLive, startServer, type TestServer } from './helpers.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Ten days of fixes every 2 hours, ending at a whole day a few days back. */
const END = Math.floor(Date.now() / DAY) * DAY - 2 * DAY;
const START = END - 10 * DAY;
const FIXES = Array.from({ length: 120 }, (_, i) => START + i * 2 * HOUR);

let s: TestServer;
let truck: { id: string; token: string };
let site: string;

const api = (method: string, p: string, body?: unknown) =>
  httpJson(`${s.httpUrl}${p}`, { method, token: s.api.token!, body: body === undefined ? undefined : JSON.stringify(body) });

async function locate(token: string, body: Record<string, unknown>) {
  const r = await httpJson(`${s.httpUrl}/api/v1/device/location`, { method: 'POST', token, body: JSON.stringify(body) });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
}

async function device(name: string, projectId?: string) {
  const r = await api('POST', '/api/v1/devices', { name, ...(projectId ? { projectId } : {}) });
  return { id: r.body.id as string, token: r.body.token as string };
}

type Loc = { ts: string; lat: number; lon: number };
type Track = { items: Loc[]; truncated: { before: string; limit: number } | null; interval: number | null };

beforeAll(async () => {
  s = await startServer();
  site = (await s.api.projects.create({ name: 'Depot' })).id;
  truck = await device('truck-1', site);
  // lat steps by 0.01 a fix, so each fix is recognisable.
  for (let i = 0; i < FIXES.length; i += 20) {
    await Promise.all(FIXES.slice(i, i + 20).map((ts, j) => locate(truck.token, { ts, lat: 50 + (i + j) / 100, lon: 4 })));
  }
});

afterAll(async () => {
  await s?.close();
});

describe('a device’s track', () => {
  it('pages through a long range with the cursor, newest first, each page oldest first, none lost or repeated', async () => {
    const seen: number[] = [];
    let before: string | undefined;
    let pages = 0;
    for (;;) {
      const q = new URLSearchParams({ from: String(START - DAY), to: String(END + DAY), limit: '50', ...(before ? { before } : {}) });
      const r = await api('GET', `/api/v1/devices/${truck.id}/locations?${q}`);
      expect(r.status).toBe(200);
      const page = r.body as unknown as Track;
      expect(page.interval).toBeNull();
      const ts = page.items.map((l) => Date.parse(l.ts));
      expect(ts).toEqual([...ts].sort((a, b) => a - b));
      seen.unshift(...ts);
      pages++;
      if (!page.truncated) break;
      before = page.truncated.before;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(FIXES);
  });

  it('downsamples to the last position per bucket: ten days at one a day', async () => {
    const r = await api('GET', `/api/v1/devices/${truck.id}/locations?from=${START}&to=${END}&interval=1d`);
    const track = r.body as unknown as Track;
    expect(track.interval).toBe(86_400);
    expect(track.truncated).toBeNull();
    expect(track.items.length).toBe(10);
    // Each day's last fix is at 22:00, the 12th of the day.
    expect(track.items.map((l) => Date.parse(l.ts))).toEqual(Array.from({ length: 10 }, (_, d) => START + d * DAY + 22 * HOUR));
    expect(track.items.map((l) => l.lat)).toEqual(Array.from({ length: 10 }, (_, d) => 50 + (d * 12 + 11) / 100));
    // Paged by whole buckets.
    const first = (await api('GET', `/api/v1/devices/${truck.id}/locations?from=${START}&to=${END}&interval=1d&limit=4`)).body as unknown as Track;
    expect(first.items.length).toBe(4);
    const rest = (await api('GET', `/api/v1/devices/${truck.id}/locations?from=${START}&to=${END}&interval=1d&before=${first.truncated!.before}`))
      .body as unknown as Track;
    expect([...rest.items, ...first.items].map((l) => l.ts)).toEqual(track.items.map((l) => l.ts));
  });

  it('refuses a reversed range and a bad interval', async () => {
    expect(await api('GET', `/api/v1/devices/${truck.id}/locations?from=${END}&to=${START}`)).toMatchObject({
      status: 400,
      body: { error: { code: 'VALIDATION_FAILED' } },
    });
    expect(await api('GET', `/api/v1/devices/${truck.id}/locations?interval=often`)).toMatchObject({
      status: 400,
      body: { error: { code: 'VALIDATION_FAILED' } },
    });
  });
});

describe('the fleet map', () => {
  it('lists the last known position of every device that has one, by project, in pages', async () => {
    const van = await device('van-2');
    await device('never-moved', site);
    await locate(van.token, { lat: 48.85, lon: 2.35 });
    const all = await api('GET', '/api/v1/locations/latest');
    expect(all.status).toBe(200);
    const items = all.body.items as { id: string; name: string; lat: number; lon: number; at: string; online: boolean; projectId: string | null }[];
    expect(items.map((d) => d.name).sort()).toEqual(['truck-1', 'van-2']);
    expect(items.find((d) => d.name === 'truck-1')).toMatchObject({ lat: 50 + 119 / 100, lon: 4, at: new Date(FIXES.at(-1)!).toISOString(), projectId: site });
    expect(items.find((d) => d.name === 'van-2')).toMatchObject({ lat: 48.85, lon: 2.35, online: false });
    expect(all.body.next).toBeNull();
    const depot = await api('GET', `/api/v1/locations/latest?projectId=${site}`);
    expect((depot.body.items as { name: string }[]).map((d) => d.name)).toEqual(['truck-1']);
    const page1 = await api('GET', '/api/v1/locations/latest?limit=1');
    const page2 = await api('GET', `/api/v1/locations/latest?limit=1&after=${page1.body.next as string}`);
    expect([...(page1.body.items as { id: string }[]), ...(page2.body.items as { id: string }[])].map((d) => d.id).sort()).toEqual(
      items.map((d) => d.id).sort(),
    );
    expect(page2.body.next).toBeNull();
    expect(await api('GET', '/api/v1/locations/latest?projectId=6f1c1a5e-0000-4000-8000-000000000000')).toMatchObject({
      status: 404,
      body: { error: { code: 'PROJECT_NOT_FOUND' } },
    });
  });

  it('pushes new positions on the live `locations` channel, and no longer on `telemetry`', async () => {
    const live = await openLive(s.httpUrl, s.api.token!);
    try {
      live.send({ type: 'subscribe', id: 'map', channels: ['locations', 'status'] });
      live.send({ type: 'subscribe', id: 'depot', project: site, channels: ['locations'] });
      live.send({ type: 'subscribe', id: 'charts', devices: [truck.id], channels: ['telemetry'] });
      for (const id of ['map', 'depot', 'charts']) await live.next((m) => m.type === 'subscribed' && m.id === id);
      await locate(truck.token, { lat: 51.5, lon: -0.12, speed: 30 });
      const telemetry = await httpJson(`${s.httpUrl}/api/v1/device/telemetry`, { method: 'POST', token: truck.token, body: '{"fuel":40}' });
      expect(telemetry.status).toBe(202);
      const event = await live.next((m) => m.type === 'location' && m.deviceId === truck.id);
      expect(event).toMatchObject({ type: 'location', projectId: site, location: { lat: 51.5, lon: -0.12, speed: 30 } });
      await live.next((m) => m.type === 'telemetry' && m.deviceId === truck.id);
      // The map's first read agrees with the event.
      const latest = await api('GET', '/api/v1/locations/latest');
      expect((latest.body.items as { id: string; lat: number }[]).find((d) => d.id === truck.id)?.lat).toBe(51.5);
    } finally {
      live.close();
    }
    // A socket that follows telemetry only hears no positions.
    const charts = await openLive(s.httpUrl, s.api.token!);
    try {
      charts.send({ type: 'subscribe', id: 'c', devices: [truck.id], channels: ['telemetry'] });
      await charts.next((m) => m.type === 'subscribed');
      await locate(truck.token, { lat: 52, lon: 0 });
      await httpJson(`${s.httpUrl}/api/v1/device/telemetry`, { method: 'POST', token: truck.token, body: '{"fuel":39}' });
      await charts.next((m) => m.type === 'telemetry');
      expect(charts.messages.filter((m) => m.type === 'location')).toEqual([]);
    } finally {
      charts.close();
    }
  });
});
