/**
 * ReportsService against a real database (PGlite, or PostgreSQL with
 * DATABASE_URL) and a real local file storage: a parse that dies midway and is
 * tried again resumes after its last committed batch, and counts each line once.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, testDatabase } from '../../../test/helpers.js';
import type { Database } from '../../platform/db/database.js';
import { ensurePartitions } from '../../platform/db/migrate.js';
import { createMetrics } from '../../platform/observability/metrics.js';
import { LocalFileStorage, type FileStorage } from '../../platform/storage/file-storage.js';
import type { DeviceIdentity } from '../devices/devices.repository.js';
import { IngestService } from '../ingest/ingest.service.js';
import { ReportsService } from './reports.service.js';

let db: Database;
let close: () => Promise<void>;
let dir: string;
let device: DeviceIdentity;

/** Local disk, except that reads can be made to break after some bytes. */
class FlakyStorage implements FileStorage {
  breakAfter: number | null = null;
  reads = 0;
  constructor(private readonly inner: FileStorage) {}
  put = (key: string, body: Buffer | Readable) => this.inner.put(key, body);
  size = (key: string) => this.inner.size(key);
  delete = (key: string) => this.inner.delete(key);
  adopt = (key: string, localFile: string) => this.inner.adopt(key, localFile);
  async get(key: string) {
    this.reads++;
    const s = await this.inner.get(key);
    if (!s || this.breakAfter === null) return s;
    const limit = this.breakAfter;
    // Small chunks, the way a network read comes, then the connection drops.
    async function* flaky(src: Readable) {
      let seen = 0;
      for await (const chunk of src as AsyncIterable<Buffer>) {
        for (let i = 0; i < chunk.length; i += 1024) {
          const part = chunk.subarray(i, i + 1024);
          if (seen + part.length > limit) throw new Error('storage connection reset');
          seen += part.length;
          yield part;
        }
      }
    }
    return Readable.from(flaky(s));
  }
}

let storage: FlakyStorage;
let reports: ReportsService;

beforeAll(async () => {
  ({ db, close } = await testDatabase());
  await ensurePartitions(db);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-reports-'));
  const [org] = await db.query<{ id: string }>("INSERT INTO orgs (name) VALUES ('reports-test') RETURNING id");
  const [d] = await db.query<{ id: string }>("INSERT INTO devices (org_id, name) VALUES ($1, 'logger') RETURNING id", [org!.id]);
  device = { deviceId: d!.id, orgId: org!.id, projectId: null };
  const ingest = new IngestService({
    db,
    metrics: createMetrics(),
    logger: silentLogger(),
    maxBatch: 100,
    flushMs: 1,
    maxPayloadBytes: 256 * 1024,
    budget: { maxMessages: 1000, maxBytes: 1024 * 1024 },
    quota: { perDevice: 0, perOrg: 0 },
    verifyDeviceJwt: async () => null,
    listeners: [],
  });
  storage = new FlakyStorage(new LocalFileStorage(dir));
  reports = new ReportsService({
    db,
    storage,
    jobs: { send: async () => {}, wake: () => {} },
    ingest,
    devices: { get: async () => ({ id: device.deviceId }) as never },
    logger: silentLogger(),
    maxBytes: 64 * 1024 * 1024,
    maxLineBytes: 1024,
    batchReadings: 100,
  });
});
afterAll(async () => {
  await close?.();
  fs.rmSync(dir, { recursive: true, force: true });
});

const count = async (sql: string) => (await db.query<{ n: number }>(sql, [device.deviceId]))[0]!.n;
const state = async (id: string) =>
  (
    await db.query<{ state: string; last_line: number; lines_accepted: number; lines_rejected: number; attempts: number; failure: string | null }>(
      'SELECT state, last_line::int, lines_accepted::int, lines_rejected::int, attempts, failure FROM reports WHERE id = $1',
      [id],
    )
  )[0]!;

async function store(body: string) {
  return reports.upload(device, {
    body: Readable.from([Buffer.from(body)]),
    contentType: 'text/csv',
    declaredBytes: null,
    sentUptime: undefined,
    clientReportId: undefined,
    receivedAt: new Date(),
  });
}

describe('a parse that dies midway', () => {
  it('is resumed after its last committed batch: every line counted once, no reading written twice', async () => {
    // 1000 lines of 2 readings, one bad line in every 100: 50 lines (100 readings) per batch.
    const lines = ['ts,a,b'];
    const t0 = Date.UTC(2024, 0, 1);
    for (let i = 0; i < 1000; i++) lines.push(i % 100 === 50 ? `broken,${i}` : `${t0 + i * 1000},${i},${-i}`);
    const body = `${lines.join('\n')}\n`;
    const { id } = await store(body);

    storage.breakAfter = Math.floor(body.length * 0.45);
    await expect(reports.parse(id)).rejects.toThrow(/connection reset/);
    const midway = await state(id);
    expect(midway.state).toBe('parsing');
    const done = Number(midway.last_line);
    expect(done).toBeGreaterThan(100);
    expect(done).toBeLessThan(500);
    const batchesBefore = await count("SELECT count(*)::int AS n FROM messages WHERE device_id = $1 AND payload ? 'report'");

    storage.breakAfter = null;
    await reports.parse(id);
    const end = await state(id);
    expect(end).toMatchObject({ state: 'done', last_line: 1001, lines_accepted: 990, lines_rejected: 10, attempts: 2, failure: null });
    expect(await count('SELECT count(*)::int AS n FROM telemetry WHERE device_id = $1')).toBe(1980);
    expect(await count('SELECT count(*)::int AS n FROM report_errors e JOIN reports r ON r.id = e.report_id WHERE r.device_id = $1')).toBe(10);
    // The minute rollups count each reading once.
    expect(await count('SELECT sum(cnt)::int AS n FROM telemetry_1m WHERE device_id = $1')).toBe(1980);
    // A resume, not a redo: the second try wrote only the batches the first had not committed.
    const batches = await count("SELECT count(*)::int AS n FROM messages WHERE device_id = $1 AND payload ? 'report'");
    // 990 good lines of 2 readings make 20 batches of 100; a redo would add the first try's again.
    expect(batchesBefore).toBeGreaterThanOrEqual(2);
    expect(batches).toBe(20);

    // Running the finished job again changes nothing.
    await reports.parse(id);
    expect(await state(id)).toMatchObject({ state: 'done', attempts: 2 });
  });

  it('a report whose parse fails on every try ends failed, with the reason', async () => {
    const { id } = await store('ts,a\n1704067200000,1\n1704067201000,2\n');
    storage.breakAfter = 5;
    for (let i = 0; i < 3; i++) await expect(reports.parse(id)).rejects.toThrow();
    await reports.parse(id);
    expect(await state(id)).toMatchObject({ state: 'failed', attempts: 4, failure: expect.stringContaining('connection reset') });
    storage.breakAfter = null;
  });
});
