/**
 * Store-and-forward reports (issue 15) through a real listening server: real
 * HTTP (fetch), the file storage on disk, and the worker role running the
 * pg-boss parse job. PGlite by default, PostgreSQL when DATABASE_URL is set.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TetherClient, type Device } from '@tether/api-client';
import { HttpDeviceClient } from '@tether/device-sdk';
import { httpJson, startServer, until, type TestServer } from './helpers.js';
import { startS3, type PrivateS3 } from './private-s3.js';

const MAX_BYTES = 64 * 1024;
let s: TestServer;
let device: Device & { token: string };
let other: Device & { token: string };

beforeAll(async () => {
  s = await startServer({ TETHER_REPORT_MAX_BYTES: String(MAX_BYTES) });
  device = await s.api.devices.create({ name: 'logger-1' });
  other = await s.api.devices.create({ name: 'logger-2' });
});
afterAll(async () => {
  await s?.close();
});

type Json = Record<string, unknown>;
const upload = (body: string | Buffer | Readable, opts: { type?: string; token?: string; headers?: Record<string, string>; query?: string } = {}) =>
  fetch(`${s.httpUrl}/api/v1/device/reports${opts.query ?? ''}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${opts.token ?? device.token}`, 'content-type': opts.type ?? 'text/csv', ...opts.headers },
    body: body instanceof Readable ? (Readable.toWeb(body) as ReadableStream) : body,
    ...(body instanceof Readable ? { duplex: 'half' } : {}),
  } as RequestInit);

const asUser = (method: string, p: string) => httpJson(`${s.httpUrl}${p}`, { method, token: s.api.token! });

/** Uploads and waits for the worker to finish parsing. */
async function uploadAndParse(body: string, opts: Parameters<typeof upload>[1] = {}): Promise<Json> {
  const res = await upload(body, opts);
  const accepted = (await res.json()) as Json;
  expect(res.status, JSON.stringify(accepted)).toBe(202);
  return until(async () => {
    const r = await asUser('GET', `/api/v1/reports/${accepted.id as string}`);
    return r.body.state === 'done' || r.body.state === 'failed' ? (r.body as Json) : null;
  });
}

async function series(deviceId: string, key: string, extra = '') {
  const r = await asUser('GET', `/api/v1/devices/${deviceId}/telemetry?keys=${key}&from=2020-01-01T00:00:00Z&limit=10000${extra}`);
  expect(r.status).toBe(200);
  return (r.body.series as Record<string, { ts: string; value: unknown }[]>)[key]!;
}

const rowCount = async (deviceId: string) =>
  (await s.tether.db.query<{ n: number }>('SELECT count(*)::int AS n FROM telemetry WHERE device_id = $1', [deviceId]))[0]!.n;

const storedFiles = () => {
  const dir = path.join(s.config.dataDir, 'files', 'reports');
  return fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((f) => f.isFile()).length : 0;
};

describe('CSV report with a bad line', () => {
  const csv = [
    'ts,temperature,state',
    '2024-05-01T10:00:00Z,20.5,idle',
    '2024-05-01T10:01:00Z,not-a-time-but-a-string,run', // good: a string value
    'yesterday,21,run', // bad: the time
    '',
    '2024-05-01T10:03:00Z,22.5', // bad: a column missing
    '1714557840000,23,"stopped, cooling"', // good: ms, a quoted comma
  ].join('\n');

  let report: Json;
  it('keeps the good lines and lists the bad ones by line number', async () => {
    report = await uploadAndParse(csv);
    expect(report).toMatchObject({
      state: 'done',
      format: 'csv',
      lines: { total: 5, accepted: 3, rejected: 2, last: 7 },
      readings: 6,
      errorsListed: 2,
      errorsNotListed: 0,
      failure: null,
    });
    const errors = await asUser('GET', `/api/v1/reports/${report.id as string}/errors`);
    expect(errors.body).toMatchObject({
      total: 2,
      items: [
        { line: 4, reason: 'invalid_timestamp' },
        { line: 6, reason: 'wrong_column_count' },
      ],
    });
  });

  it('the good lines are readable through the telemetry history endpoint', async () => {
    expect(await series(device.id, 'temperature')).toEqual([
      { ts: '2024-05-01T10:00:00.000Z', value: 20.5 },
      { ts: '2024-05-01T10:01:00.000Z', value: 'not-a-time-but-a-string' },
      { ts: '2024-05-01T10:04:00.000Z', value: 23 },
    ]);
    expect((await series(device.id, 'state')).map((p) => p.value)).toEqual(['idle', 'run', 'stopped, cooling']);
    const latest = await s.api.devices.latest(device.id);
    expect(latest.values.state).toEqual({ ts: '2024-05-01T10:04:00.000Z', value: 'stopped, cooling' });
  });

  it('uploading the same report again adds no rows, and the rollups still count each reading once', async () => {
    const before = await rowCount(device.id);
    const again = await uploadAndParse(csv);
    expect(again.id).not.toBe(report.id);
    expect(again).toMatchObject({ state: 'done', lines: { accepted: 3, rejected: 2 } });
    expect(await rowCount(device.id)).toBe(before);
    // Hourly buckets come from the rollup tables: one reading counted once, not twice.
    const counts = await series(device.id, 'temperature', '&to=2024-05-02T00:00:00Z&interval=1h&agg=count');
    expect(counts).toEqual([{ ts: '2024-05-01T10:00:00.000Z', value: 3 }]);
  });
});

describe('JSON lines', () => {
  it('takes both telemetry shapes and arrays, and corrects uptime stamps by X-Device-Uptime', async () => {
    const dev = await s.api.devices.create({ name: 'jsonl-logger' });
    const lines = [
      JSON.stringify({ ts: '2024-06-01T00:00:00Z', values: { temperature: 1, door: true } }),
      JSON.stringify({ ts: Date.parse('2024-06-01T00:01:00Z'), temperature: 2 }),
      '{"ts": broken',
      JSON.stringify([
        { uptime: 100, temperature: 3 },
        { uptime: 160.5, values: { temperature: 4 } },
      ]),
      JSON.stringify({ temperature: 5 }), // no time of its own
      JSON.stringify({ uptime: 999_999, temperature: 6 }), // after the report was sent
      JSON.stringify({ ts: '2024-06-01T00:02:00Z', device_id: device.id, temperature: 7 }), // another device's id
    ].join('\r\n');
    const res = await upload(lines, { type: 'application/x-ndjson', token: dev.token, headers: { 'x-device-uptime': '3600' } });
    const accepted = (await res.json()) as Json;
    expect(res.status).toBe(202);
    const sentAt = Date.now();
    const report = await until(async () => {
      const r = await asUser('GET', `/api/v1/reports/${accepted.id as string}`);
      return r.body.state === 'done' ? (r.body as Json) : null;
    });
    expect(report).toMatchObject({ format: 'jsonl', sentUptime: 3600, lines: { accepted: 3, rejected: 4 }, readings: 5 });
    const errors = await asUser('GET', `/api/v1/reports/${report.id as string}/errors`);
    expect((errors.body.items as Json[]).map((e) => [e.line, e.reason])).toEqual([
      [3, 'malformed_json'],
      [5, 'missing_timestamp'],
      [6, 'invalid_timestamp'],
      [7, 'identity_mismatch'],
    ]);
    const points = await series(dev.id, 'temperature');
    expect(points.slice(0, 2)).toEqual([
      { ts: '2024-06-01T00:00:00.000Z', value: 1 },
      { ts: '2024-06-01T00:01:00.000Z', value: 2 },
    ]);
    // wall = receivedAt − (3600 − uptime): 3500 s and 3439.5 s before the upload arrived.
    const receivedAt = Date.parse(report.receivedAt as string);
    expect(receivedAt).toBeLessThanOrEqual(sentAt);
    expect(points.slice(2)).toEqual([
      { ts: new Date(receivedAt - 3_500_000).toISOString(), value: 3 },
      { ts: new Date(receivedAt - 3_439_500).toISOString(), value: 4 },
    ]);
    expect((await series(dev.id, 'door'))[0]!.value).toBe(true);
  });

  it('uptime readings without X-Device-Uptime are bad lines (no_sent_uptime); ?uptime= works as the header', async () => {
    const dev = await s.api.devices.create({ name: 'uptime-logger' });
    const body = `${JSON.stringify({ uptime: 5, temperature: 1 })}\n`;
    const without = await uploadAndParse(body, { type: 'application/x-ndjson', token: dev.token });
    expect(without).toMatchObject({ lines: { accepted: 0, rejected: 1 } });
    expect((await asUser('GET', `/api/v1/reports/${without.id as string}/errors`)).body.items).toMatchObject([{ line: 1, reason: 'no_sent_uptime' }]);
    const withQuery = await uploadAndParse(body, { type: 'application/x-ndjson', token: dev.token, query: '?uptime=10' });
    expect(withQuery).toMatchObject({ sentUptime: 10, lines: { accepted: 1, rejected: 0 } });
  });

  it('a CSV with an uptime column is placed the same way', async () => {
    const dev = await s.api.devices.create({ name: 'csv-uptime' });
    const report = await uploadAndParse('uptime,level\n10,1\n70,2\n', { token: dev.token, headers: { 'x-device-uptime': '100' } });
    const at = Date.parse(report.receivedAt as string);
    expect(await series(dev.id, 'level')).toEqual([
      { ts: new Date(at - 90_000).toISOString(), value: 1 },
      { ts: new Date(at - 30_000).toISOString(), value: 2 },
    ]);
  });
});

describe('device side', () => {
  it('X-Report-Id makes a re-upload the same report: stored once, same id', async () => {
    const body = 'ts,pressure\n2024-07-01T00:00:00Z,1.5\n';
    const first = await upload(body, { headers: { 'x-report-id': 'boot-7-report-1' } });
    const a = (await first.json()) as Json;
    const second = await upload(body, { headers: { 'x-report-id': 'boot-7-report-1' } });
    const b = (await second.json()) as Json;
    expect([first.status, second.status]).toEqual([202, 202]);
    expect(a.duplicate).toBe(false);
    expect(b).toMatchObject({ id: a.id, duplicate: true });
    const list = await asUser('GET', `/api/v1/reports?deviceId=${device.id}`);
    expect((list.body.items as Json[]).filter((r) => r.clientReportId === 'boot-7-report-1')).toHaveLength(1);
  });

  it('the device reads its own report; another device gets REPORT_NOT_FOUND', async () => {
    const res = await upload('ts,x\n2024-07-02T00:00:00Z,1\n');
    const { id, statusUrl } = (await res.json()) as Json;
    const own = await httpJson(`${s.httpUrl}${statusUrl as string}`, { token: device.token });
    expect(own).toMatchObject({ status: 200, body: { id, deviceId: device.id } });
    const foreign = await httpJson(`${s.httpUrl}/api/v1/device/reports/${id as string}`, { token: other.token });
    expect(foreign).toMatchObject({ status: 404, body: { error: { code: 'REPORT_NOT_FOUND' } } });
    const bad = await httpJson(`${s.httpUrl}/api/v1/device/reports/${id as string}`, { token: 'not-a-token' });
    expect(bad.status).toBe(401);
  });

  it('the SDK uploads a report from a file path and from a stream', async () => {
    const client = new HttpDeviceClient(s.httpUrl, other.token);
    const file = path.join(s.config.dataDir, 'buffered.csv');
    fs.writeFileSync(file, 'ts,rpm\n2024-08-01T00:00:00Z,1200\n2024-08-01T00:00:10Z,1300\n');
    const a = await client.uploadReport(file, { format: 'csv', reportId: 'sdk-1' });
    expect(a).toMatchObject({ duplicate: false, state: 'stored' });
    const b = await client.uploadReport(Readable.from([`${JSON.stringify({ uptime: 1, rpm: 900 })}\n`]), { format: 'jsonl', sentUptime: 2 });
    for (const id of [a.id, b.id]) {
      await until(async () => ((await client.reportStatus(id)).state === 'done' ? true : null));
    }
    expect((await client.reportStatus(a.id)).lines.accepted).toBe(2);
    expect((await series(other.id, 'rpm')).length).toBe(3);
  });
});

describe('bad uploads', () => {
  it('a wrong device token is 401 and stores nothing', async () => {
    const before = storedFiles();
    const res = await upload('ts,x\n2024-01-01T00:00:00Z,1\n', { token: 'wrong-token' });
    expect(res.status).toBe(401);
    expect(((await res.json()) as Json).error).toMatchObject({ code: 'UNAUTHORIZED' });
    expect(storedFiles()).toBe(before);
  });

  it('over TETHER_REPORT_MAX_BYTES is 413 PAYLOAD_TOO_LARGE and nothing is stored, with or without Content-Length', async () => {
    const before = { files: storedFiles(), reports: (await asUser('GET', '/api/v1/reports')).body.total };
    const big = `ts,x\n${'2024-01-01T00:00:00Z,1\n'.repeat(MAX_BYTES / 20)}`;
    expect(big.length).toBeGreaterThan(MAX_BYTES);
    const declared = await upload(big);
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as Json).error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    // Streamed without a length: refused once the bytes pass the limit.
    const chunked = await upload(Readable.from([Buffer.from(big.slice(0, 40_000)), Buffer.from(big.slice(40_000))]));
    expect(chunked.status).toBe(413);
    expect(storedFiles()).toBe(before.files);
    expect((await asUser('GET', '/api/v1/reports')).body.total).toBe(before.reports);
  });

  it('another content type is 415, an empty report 400, a bad X-Device-Uptime 400', async () => {
    const json = await upload('{"a":1}', { type: 'application/json' });
    expect(json.status).toBe(415);
    const empty = await upload('', {});
    expect(empty.status).toBe(400);
    const uptime = await upload('ts,x\n', { headers: { 'x-device-uptime': '-5' } });
    expect(uptime.status).toBe(400);
  });

  it('a CSV header without a time column fails the report with a reason', async () => {
    const r = await uploadAndParse('temperature,humidity\n1,2\n');
    expect(r).toMatchObject({ state: 'failed', failure: expect.stringContaining('time column') });
  });

  it('past 1000 bad lines, the rest are counted, not listed; the good lines are still kept', async () => {
    const dev = await s.api.devices.create({ name: 'noisy' });
    const lines = ['ts,v'];
    for (let i = 0; i < 1005; i++) lines.push(`${i}`); // one column of two
    lines.push('2024-09-01T00:00:00Z,42');
    const r = await uploadAndParse(lines.join('\n'), { token: dev.token });
    expect(r).toMatchObject({ state: 'done', lines: { accepted: 1, rejected: 1005 }, errorsListed: 1000, errorsNotListed: 5 });
    const page = await asUser('GET', `/api/v1/reports/${r.id as string}/errors?limit=2&offset=999`);
    expect(page.body).toMatchObject({ total: 1000, items: [{ line: 1001 }] });
    expect(await series(dev.id, 'v')).toEqual([{ ts: '2024-09-01T00:00:00.000Z', value: 42 }]);
  });
});

describe('user side', () => {
  it('lists by device and state; another org’s device is DEVICE_NOT_FOUND', async () => {
    const all = await asUser('GET', `/api/v1/reports?deviceId=${device.id}&state=done`);
    expect(all.status).toBe(200);
    expect((all.body.items as Json[]).every((r) => r.deviceId === device.id && r.state === 'done')).toBe(true);
    expect(all.body.total).toBeGreaterThan(1);
    const missing = await asUser('GET', '/api/v1/reports?deviceId=00000000-0000-4000-8000-000000000000');
    expect(missing.body.error?.code).toBe('DEVICE_NOT_FOUND');
  });

  it('delete: a viewer is refused; an admin deletes the report and its file (audited), and the readings stay', async () => {
    const dev = await s.api.devices.create({ name: 'to-delete' });
    const r = await uploadAndParse('ts,v\n2024-10-01T00:00:00Z,7\n', { token: dev.token });
    const file = path.join(s.config.dataDir, 'files', 'reports', (await s.api.me()).orgId, r.id as string);
    expect(fs.existsSync(file)).toBe(true);
    await s.api.users.create({ email: 'viewer@reports.test', password: 'viewer-password', role: 'viewer' });
    const viewer = new TetherClient({ baseUrl: s.httpUrl });
    await viewer.login('viewer@reports.test', 'viewer-password');
    expect((await httpJson(`${s.httpUrl}/api/v1/reports/${r.id as string}`, { method: 'DELETE', token: viewer.token! })).status).toBe(403);
    expect((await asUser('DELETE', `/api/v1/reports/${r.id as string}`)).status).toBe(204);
    expect((await asUser('GET', `/api/v1/reports/${r.id as string}`)).body.error?.code).toBe('REPORT_NOT_FOUND');
    expect(fs.existsSync(file)).toBe(false);
    const [audit] = await s.tether.db.query<{ action: string }>("SELECT action FROM audit_log WHERE target_id = $1 AND action = 'report.delete'", [r.id]);
    expect(audit).toBeDefined();
    expect(await series(dev.id, 'v')).toEqual([{ ts: '2024-10-01T00:00:00.000Z', value: 7 }]);
  });
});

describe('on S3-compatible storage', () => {
  let s3: PrivateS3;
  let s3server: TestServer;
  beforeAll(async () => {
    s3 = await startS3();
    s3server = await startServer({ ...s3.env, TETHER_REPORT_MAX_BYTES: '2048' });
  });
  afterAll(async () => {
    await s3server?.close();
    await s3?.stop();
  });

  it('stores the report as an object, parses it from there, and keeps nothing of an oversized one', async () => {
    const dev = await s3server.api.devices.create({ name: 's3-logger' });
    const post = (body: string | Readable) =>
      fetch(`${s3server.httpUrl}/api/v1/device/reports`, {
        method: 'POST',
        headers: { authorization: `Bearer ${dev.token}`, 'content-type': 'text/csv' },
        body: body instanceof Readable ? (Readable.toWeb(body) as ReadableStream) : body,
        ...(body instanceof Readable ? { duplex: 'half' } : {}),
      } as RequestInit);
    const res = await post('ts,v\n2024-11-01T00:00:00Z,1\nbad,2\n2024-11-01T00:00:01Z,3\n');
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as Json;
    expect(s3.objectCount()).toBe(1);
    const report = await until(async () => {
      const r = await httpJson(`${s3server.httpUrl}/api/v1/reports/${id as string}`, { token: s3server.api.token! });
      return r.body.state === 'done' ? r.body : null;
    });
    expect(report).toMatchObject({ lines: { accepted: 2, rejected: 1 }, readings: 2 });
    const tooBig = await post(Readable.from([Buffer.from(`ts,v\n${'2024-11-01T00:00:00Z,1\n'.repeat(200)}`)]));
    expect(tooBig.status).toBe(413);
    expect(s3.objectCount()).toBe(1);
    expect((await httpJson(`${s3server.httpUrl}/api/v1/reports/${id as string}`, { method: 'DELETE', token: s3server.api.token! })).status).toBe(204);
    expect(s3.objectCount()).toBe(0);
  });
});
