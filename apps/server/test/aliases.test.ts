/**
 * Issue 15, stream aliases (seed 004 StreamAlias) through the real server: a
 * site's temperature is device A's until the sensor was replaced at T0 + 90 min,
 * then device B's. Both devices report the whole time (the old sensor kept
 * running on the bench, the new one was tested before it went in), so a read
 * that leaks the wrong device's points on either side of the change shows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpJson, startServer, type TestServer } from './helpers.js';

const MIN = 60_000;
const HOUR = 3_600_000;
/** Whole hours, a few hours back: every stretch below is in the past and the hour buckets line up. */
const T0 = Math.floor(Date.now() / HOUR) * HOUR - 4 * HOUR;
const CHANGE = T0 + 90 * MIN;
const iso = (ms: number) => new Date(ms).toISOString();

let s: TestServer;
let site: string;
const dev: Record<'a' | 'b' | 'other', { id: string; token: string }> = {} as never;

const api = (method: string, p: string, body?: unknown, token = s.api.token!) =>
  httpJson(`${s.httpUrl}${p}`, { method, token, body: body === undefined ? undefined : JSON.stringify(body) });

type Point = { ts: string; value: unknown };
type History = { series: Record<string, Point[]>; truncated?: Record<string, { before: string; limit: number }>; sources?: unknown[] } & Record<
  string,
  unknown
>;

async function post(token: string, body: unknown) {
  const r = await httpJson(`${s.httpUrl}/api/v1/device/telemetry`, { method: 'POST', token, body: JSON.stringify(body) });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
}

beforeAll(async () => {
  s = await startServer();
  site = (await s.api.projects.create({ name: 'Site 1' })).id;
  for (const name of ['a', 'b'] as const) {
    const r = await api('POST', '/api/v1/devices', { name: `sensor-${name}`, projectId: site });
    dev[name] = { id: r.body.id as string, token: r.body.token as string };
  }
  // A: value = minute; B: 1000 + minute, one point a minute from T0 to T0 + 150 min.
  const minutes = Array.from({ length: 151 }, (_, i) => i);
  await post(
    dev.a.token,
    minutes.map((i) => ({ ts: T0 + i * MIN, values: { temperature: i } })),
  );
  await post(
    dev.b.token,
    minutes.map((i) => ({ ts: T0 + i * MIN, values: { temperature: 1000 + i } })),
  );
  // A device of another org, for the isolation checks.
  const orgB = await s.api.orgs.create('Other org');
  const { TetherClient } = await import('@tether/api-client');
  const admin = new TetherClient({ baseUrl: s.httpUrl });
  await admin.login('admin@example.com', 'admin-password-1', orgB.id);
  const other = await admin.devices.create({ name: 'elsewhere' });
  dev.other = { id: other.id, token: other.token };
});

afterAll(async () => {
  await s?.close();
});

describe('stream aliases', () => {
  let aliasId: string;

  it('creates an alias from taps given in any order, each running until the next one starts', async () => {
    const r = await api('POST', '/api/v1/aliases', {
      name: 'site-1 temperature',
      projectId: site,
      unit: '°C',
      description: 'sensor replaced at 90 min',
      taps: [
        { deviceId: dev.b.id, key: 'temperature', from: iso(CHANGE) },
        { deviceId: dev.a.id, key: 'temperature', from: String(T0) },
      ],
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    aliasId = r.body.id as string;
    expect(r.body).toMatchObject({
      name: 'site-1 temperature',
      projectId: site,
      unit: '°C',
      taps: [
        { deviceId: dev.a.id, deviceName: 'sensor-a', key: 'temperature', from: iso(T0), to: iso(CHANGE) },
        { deviceId: dev.b.id, deviceName: 'sensor-b', key: 'temperature', from: iso(CHANGE), to: null },
      ],
    });
    expect((await api('GET', `/api/v1/aliases/${aliasId}`)).body).toEqual(r.body);
    expect(((await api('GET', '/api/v1/aliases')).body.items as { id: string }[]).map((a) => a.id)).toEqual([aliasId]);
    expect(((await api('GET', `/api/v1/aliases?projectId=${site}`)).body.items as unknown[]).length).toBe(1);
  });

  it('reads A’s points before the change and B’s from it on, and nothing of A’s after it', async () => {
    const r = await api('GET', `/api/v1/aliases/${aliasId}/telemetry?from=${T0}&to=${T0 + 120 * MIN}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const body = r.body as History;
    expect(Object.keys(body.series)).toEqual(['site-1 temperature']);
    const points = body.series['site-1 temperature']!;
    const before = points.filter((p) => Date.parse(p.ts) < CHANGE);
    const after = points.filter((p) => Date.parse(p.ts) >= CHANGE);
    // A: minutes 0..89; B: minutes 90..120 (the point at the change is B's; `to` is included).
    expect(before.map((p) => p.value)).toEqual(Array.from({ length: 90 }, (_, i) => i));
    expect(after.map((p) => p.value)).toEqual(Array.from({ length: 31 }, (_, i) => 1090 + i));
    expect(points.map((p) => Date.parse(p.ts))).toEqual(Array.from({ length: 121 }, (_, i) => T0 + i * MIN));
    expect(body).toMatchObject({
      deviceId: null,
      aliasId,
      interval: null,
      agg: null,
      truncated: {},
      sources: [
        { deviceId: dev.a.id, key: 'temperature', from: iso(T0), to: iso(CHANGE), toInclusive: false },
        { deviceId: dev.b.id, key: 'temperature', from: iso(CHANGE), to: iso(T0 + 120 * MIN), toInclusive: true },
      ],
    });
    // The devices themselves still hold both sides.
    const a = (await api('GET', `/api/v1/devices/${dev.a.id}/telemetry?keys=temperature&from=${CHANGE}&to=${T0 + 120 * MIN}`)).body as History;
    expect(a.series.temperature!.length).toBe(31);
    // Starting before the first tap: nothing before it.
    const early = (await api('GET', `/api/v1/aliases/${aliasId}/telemetry?from=${T0 - HOUR}&to=${T0 + 5 * MIN}`)).body as History;
    expect(early.series['site-1 temperature']!.map((p) => p.value)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('answers with the device route’s fields, and the same keys parameter', async () => {
    const device = (await api('GET', `/api/v1/devices/${dev.a.id}/telemetry?keys=temperature&from=${T0}&to=${T0 + 10 * MIN}`)).body;
    const alias = (await api('GET', `/api/v1/aliases/${aliasId}/telemetry?keys=${encodeURIComponent('site-1 temperature')}&from=${T0}&to=${T0 + 10 * MIN}`))
      .body;
    expect(Object.keys(alias).filter((k) => !['aliasId', 'sources'].includes(k))).toEqual(Object.keys(device));
    expect((alias as History).series['site-1 temperature']).toEqual((device as History).series.temperature);
    const wrong = await api('GET', `/api/v1/aliases/${aliasId}/telemetry?keys=temperature`);
    expect(wrong).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });
  });

  it('pages raw points across the change with the device route’s cursor', async () => {
    const range = `from=${T0}&to=${T0 + 120 * MIN}`;
    // 70 newest: B's 31 and A's last 39; the cursor leads to A's first 51.
    const first = (await api('GET', `/api/v1/aliases/${aliasId}/telemetry?${range}&limit=70`)).body as History;
    const p1 = first.series['site-1 temperature']!;
    expect(p1.length).toBe(70);
    expect(p1[0]!.value).toBe(51);
    expect(p1.at(-1)!.value).toBe(1120);
    const cursor = first.truncated!['site-1 temperature']!;
    expect(cursor.limit).toBe(70);
    const second = (await api('GET', `/api/v1/aliases/${aliasId}/telemetry?${range}&limit=70&before=${cursor.before}`)).body as History;
    expect(second.series['site-1 temperature']!.map((p) => p.value)).toEqual(Array.from({ length: 51 }, (_, i) => i));
    expect(second.truncated).toEqual({});

    // A limit used up exactly at the change: the cursor is the change, and the next page is all of A's.
    const exact = (await api('GET', `/api/v1/aliases/${aliasId}/telemetry?${range}&limit=31`)).body as History;
    expect(exact.series['site-1 temperature']!.map((p) => p.value)).toEqual(Array.from({ length: 31 }, (_, i) => 1090 + i));
    expect(exact.truncated!['site-1 temperature']!.before).toBe(String(CHANGE * 1000));
    const rest = (await api('GET', `/api/v1/aliases/${aliasId}/telemetry?${range}&before=${CHANGE * 1000}`)).body as History;
    expect(rest.series['site-1 temperature']!.length).toBe(90);
    expect(rest.series['site-1 temperature']!.every((p) => (p.value as number) < 100)).toBe(true);
  });

  it('aggregates per bucket, combining the two sides of a bucket that spans the change', async () => {
    const read = async (agg: string) =>
      ((await api('GET', `/api/v1/aliases/${aliasId}/telemetry?from=${T0}&to=${T0 + 120 * MIN}&interval=1h&agg=${agg}`)).body as History).series[
        'site-1 temperature'
      ]!;
    const ts = [T0, T0 + HOUR, T0 + 2 * HOUR].map(iso);
    // Hour 0: A 0..59. Hour 1: A 60..89 and B 1090..1119. Hour 2: B 1120 (the end, included).
    expect(await read('avg')).toEqual([
      { ts: ts[0], value: 29.5 },
      { ts: ts[1], value: (2235 + 33135) / 60 },
      { ts: ts[2], value: 1120 },
    ]);
    expect((await read('sum')).map((p) => p.value)).toEqual([1770, 2235 + 33135, 1120]);
    expect((await read('count')).map((p) => p.value)).toEqual([60, 60, 1]);
    expect((await read('min')).map((p) => p.value)).toEqual([0, 60, 1120]);
    expect((await read('max')).map((p) => p.value)).toEqual([59, 1119, 1120]);
    expect((await read('last')).map((p) => p.value)).toEqual([59, 1119, 1120]);
    const body = (await api('GET', `/api/v1/aliases/${aliasId}/telemetry?from=${T0}&to=${T0 + 120 * MIN}&interval=1h&agg=avg`)).body;
    expect(body).toMatchObject({ interval: 3600, agg: 'avg', deviceId: null, aliasId });
    // Minute buckets never span the change: one point a minute, each the device's own.
    const minutes = (await api('GET', `/api/v1/aliases/${aliasId}/telemetry?from=${CHANGE - 2 * MIN}&to=${CHANGE + 2 * MIN}&interval=1m&agg=avg`))
      .body as History;
    expect(minutes.series['site-1 temperature']!.map((p) => p.value)).toEqual([88, 89, 1090, 1091, 1092]);
  });

  it('refuses bad taps with stable codes and changes nothing', async () => {
    const make = (taps: unknown[], extra: Record<string, unknown> = {}) => api('POST', '/api/v1/aliases', { name: 'bad', taps, ...extra });
    const tap = (over: Record<string, unknown>) => ({ deviceId: dev.a.id, key: 'temperature', from: iso(T0), ...over });
    expect(await make([tap({ deviceId: dev.other.id })])).toMatchObject({ status: 404, body: { error: { code: 'DEVICE_NOT_FOUND' } } });
    expect(await make([tap({ deviceId: '6f1c1a5e-0000-4000-8000-000000000000' })])).toMatchObject({
      status: 404,
      body: { error: { code: 'DEVICE_NOT_FOUND' } },
    });
    expect(await make([tap({ deviceId: 'not-a-uuid' })])).toMatchObject({ status: 400, body: { error: { code: 'INVALID_ID' } } });
    expect(await make([tap({}), tap({ deviceId: dev.b.id, from: String(T0) })])).toMatchObject({
      status: 400,
      body: { error: { code: 'ALIAS_TAPS_INVALID' } },
    });
    for (const key of ['', '   ', 'ts', 'x'.repeat(129)]) {
      expect(await make([tap({ key })]), JSON.stringify(key)).toMatchObject({ status: 400, body: { error: { code: 'ALIAS_KEY_INVALID' } } });
    }
    expect(await make([tap({ from: 'yesterday-ish' })])).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });
    expect(await make([])).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });
    expect(await make([tap({})], { name: 'SITE-1 TEMPERATURE' })).toMatchObject({ status: 409, body: { error: { code: 'NAME_TAKEN' } } });
    expect(await make([tap({})], { projectId: '6f1c1a5e-0000-4000-8000-000000000000' })).toMatchObject({
      status: 404,
      body: { error: { code: 'PROJECT_NOT_FOUND' } },
    });
    // A viewer reads but does not write.
    await s.api.users.create({ email: 'viewer@example.com', password: 'viewer-password', role: 'viewer' });
    const { TetherClient } = await import('@tether/api-client');
    const viewer = new TetherClient({ baseUrl: s.httpUrl });
    await viewer.login('viewer@example.com', 'viewer-password');
    expect((await api('POST', '/api/v1/aliases', { name: 'v', taps: [tap({})] }, viewer.token!)).status).toBe(403);
    expect((await api('DELETE', `/api/v1/aliases/${aliasId}`, undefined, viewer.token!)).status).toBe(403);
    expect((await api('GET', `/api/v1/aliases/${aliasId}/telemetry`, undefined, viewer.token!)).status).toBe(200);
    expect(((await api('GET', '/api/v1/aliases')).body.items as unknown[]).length).toBe(1);
    // A bad patch leaves the taps as they were.
    expect(await api('PATCH', `/api/v1/aliases/${aliasId}`, { taps: [tap({ deviceId: dev.other.id })] })).toMatchObject({ status: 404 });
    expect(((await api('GET', `/api/v1/aliases/${aliasId}`)).body.taps as unknown[]).length).toBe(2);
  });

  it('patches: taps replace the old ones; a deleted device leaves its stretch empty', async () => {
    const third = await api('POST', '/api/v1/devices', { name: 'sensor-c' });
    const c = { id: third.body.id as string, token: third.body.token as string };
    await post(c.token, [{ ts: T0 + 30 * MIN, values: { temperature: 5000 } }]);
    const r = await api('PATCH', `/api/v1/aliases/${aliasId}`, {
      unit: null,
      taps: [
        { deviceId: dev.a.id, key: 'temperature', from: iso(T0) },
        { deviceId: c.id, key: 'temperature', from: iso(T0 + 30 * MIN) },
        { deviceId: dev.b.id, key: 'temperature', from: iso(T0 + 31 * MIN) },
      ],
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ unit: null, name: 'site-1 temperature' });
    expect((r.body.taps as { deviceName: string }[]).map((t) => t.deviceName)).toEqual(['sensor-a', 'sensor-c', 'sensor-b']);
    const values = async () =>
      ((await api('GET', `/api/v1/aliases/${aliasId}/telemetry?from=${T0 + 29 * MIN}&to=${T0 + 32 * MIN}`)).body as History).series['site-1 temperature']!.map(
        (p) => p.value,
      );
    expect(await values()).toEqual([29, 5000, 1031, 1032]);
    expect((await api('DELETE', `/api/v1/devices/${c.id}`)).status).toBe(204);
    expect(((await api('GET', `/api/v1/aliases/${aliasId}`)).body.taps as { deviceId: string | null }[])[1]).toMatchObject({
      deviceId: null,
      deviceName: null,
    });
    // Minute 30 was C's: it is gone, and neither A nor B fills it.
    expect(await values()).toEqual([29, 1031, 1032]);
  });

  it('deletes with an audit entry, and the devices’ data stays', async () => {
    expect((await api('DELETE', `/api/v1/aliases/${aliasId}`)).status).toBe(204);
    expect(await api('GET', `/api/v1/aliases/${aliasId}`)).toMatchObject({ status: 404, body: { error: { code: 'ALIAS_NOT_FOUND' } } });
    expect(await api('GET', `/api/v1/aliases/${aliasId}/telemetry`)).toMatchObject({ status: 404, body: { error: { code: 'ALIAS_NOT_FOUND' } } });
    expect(await api('DELETE', `/api/v1/aliases/${aliasId}`)).toMatchObject({ status: 404, body: { error: { code: 'ALIAS_NOT_FOUND' } } });
    const audit = await s.tether.db.query<{ action: string; details: { name: string } }>(
      "SELECT action, details FROM audit_log WHERE target_kind = 'alias' AND target_id = $1 ORDER BY created_at, id",
      [aliasId],
    );
    expect(audit.map((a) => a.action)).toEqual(['alias.create', 'alias.update', 'alias.delete']);
    expect(audit.at(-1)!.details.name).toBe('site-1 temperature');
    const a = (await api('GET', `/api/v1/devices/${dev.a.id}/telemetry?keys=temperature&from=${T0}&to=${T0 + 150 * MIN}`)).body as History;
    expect(a.series.temperature!.length).toBe(151);
  });
});
