/**
 * Rollups (migration 010) against a real database, PGlite by default and
 * Postgres when DATABASE_URL is set: what ingest maintains must equal the
 * aggregates computed from the raw rows, and history read through rollups
 * must equal history read from raw rows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TelemetryPoint } from '@tether/contracts';
import { testDatabase, testMessage } from '../../../test/helpers.js';
import type { Database } from '../../platform/db/database.js';
import { ensurePartitions } from '../../platform/db/migrate.js';
import type { Actor } from '../accounts/actor.js';
import type { DeviceIdentity } from '../devices/devices.repository.js';
import type { DevicesService } from '../devices/devices.service.js';
import type { IngestMessage } from '../ingest/ingest-message.js';
import { finalizeHourRollups, writeBatch, writeIngestBatch } from '../ingest/ingest.repository.js';
import { AGGREGATES, TelemetryService, rollupPlan } from './telemetry.service.js';

let db: Database;
let close: () => Promise<void>;
let orgId: string;

beforeAll(async () => {
  ({ db, close } = await testDatabase());
  await ensurePartitions(db);
  orgId = (await db.query<{ id: string }>("INSERT INTO orgs (name) VALUES ('rollup-test') RETURNING id"))[0]!.id;
});
afterAll(async () => {
  await close?.();
});

async function buildDevice(): Promise<DeviceIdentity> {
  const [d] = await db.query<{ id: string }>("INSERT INTO devices (org_id, name) VALUES ($1, 'rollup') RETURNING id", [orgId]);
  return { deviceId: d!.id, orgId, projectId: null };
}

const message = (device: DeviceIdentity, telemetry: TelemetryPoint[]): IngestMessage => testMessage(device, { telemetry });
const num = (key: string, ts: number, value: number): TelemetryPoint => ({ key, ts, type: 'num', value });
// The entry point ingest uses: one prepared statement when it can, a transaction when it must.
const write = (batch: IngestMessage[]) => writeBatch(db, batch);

/** A deterministic pseudo-random sequence, so a failure can be replayed. */
function random(seed: number) {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

interface Agg {
  key: string;
  bucket: number;
  cnt: number;
  n: number;
  sum: number;
  min: number | null;
  max: number | null;
}
const ORIGIN = "TIMESTAMPTZ '2000-01-01 00:00:00+00'";

async function rollupRows(table: 'telemetry_1m' | 'telemetry_1h', deviceId: string): Promise<Agg[]> {
  const rows = await db.query<{ key: string; bucket: Date; cnt: number; n: number; sum: number; min: number | null; max: number | null }>(
    `SELECT key, bucket, cnt::int AS cnt, n::int AS n, sum, min, max FROM ${table} WHERE device_id = $1 ORDER BY key, bucket`,
    [deviceId],
  );
  return rows.map((r) => ({ ...r, bucket: r.bucket.getTime() }));
}

async function rawAggregates(width: '1 minute' | '1 hour', deviceId: string): Promise<Agg[]> {
  const rows = await db.query<{ key: string; bucket: Date; cnt: number; n: number; sum: number; min: number | null; max: number | null }>(
    `SELECT key, date_bin('${width}', ts, ${ORIGIN}) AS bucket, count(*)::int AS cnt, count(num)::int AS n,
            coalesce(sum(num), 0) AS sum, min(num) AS min, max(num) AS max
     FROM telemetry WHERE device_id = $1 GROUP BY key, bucket ORDER BY key, bucket`,
    [deviceId],
  );
  return rows.map((r) => ({ ...r, bucket: r.bucket.getTime() }));
}

/** Sums are added in a different order than SQL's sum(), so they agree to rounding, not to the bit. */
function expectSameAggregates(actual: Agg[], expected: Agg[]) {
  expect(actual.map(({ sum: _s, ...rest }) => rest)).toEqual(expected.map(({ sum: _s, ...rest }) => rest));
  actual.forEach((a, i) => expect(Math.abs(a.sum - expected[i]!.sum)).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(expected[i]!.sum))));
}

const HOUR = 3600_000;

/** Hour rows are complete before hours_done_until (migration 011); later hours are read from minute rows. */
async function doneUntil(): Promise<number> {
  const [r] = await db.query<{ done: Date }>('SELECT hours_done_until AS done FROM rollup_state');
  return r!.done.getTime();
}
const before = (rows: Agg[], t: number) => rows.filter((r) => r.bucket < t);

async function expectRollupsMatchRaw(deviceId: string) {
  const minutes = await rollupRows('telemetry_1m', deviceId);
  expect(minutes.length).toBeGreaterThan(0);
  expectSameAggregates(minutes, await rawAggregates('1 minute', deviceId));
  const done = await doneUntil();
  const hours = before(await rawAggregates('1 hour', deviceId), done);
  expect(hours.length).toBeGreaterThan(0);
  expectSameAggregates(before(await rollupRows('telemetry_1h', deviceId), done), hours);
}

async function setHours(routed: number, done = routed) {
  await db.query('UPDATE rollup_state SET hours_routed_until = $1, hours_done_until = $2', [new Date(routed), new Date(done)]);
}

// Three hours back, on no particular boundary.
const T0 = Date.now() - 3 * 3600_000 - 17_345;

/** Mixed traffic: numbers, strings and booleans, several per bucket, in batches that cross minute and hour boundaries. */
function traffic(device: DeviceIdentity, seed: number, batches: number): IngestMessage[][] {
  const rnd = random(seed);
  const out: IngestMessage[][] = [];
  let t = T0;
  for (let b = 0; b < batches; b++) {
    const batch: IngestMessage[] = [];
    for (let m = 0; m < 20; m++) {
      t += Math.floor(rnd() * 40_000) + 1;
      const points: TelemetryPoint[] = [num('temperature', t, Math.round((rnd() * 60 - 20) * 1000) / 1000), num('humidity', t, rnd() * 100)];
      if (rnd() < 0.3) points.push({ key: 'state', ts: t, type: 'str', value: rnd() < 0.5 ? 'ok' : 'warn' });
      if (rnd() < 0.2) points.push({ key: 'humidity2', ts: t, type: 'bool', value: rnd() < 0.5 });
      // A key that is sometimes a number and sometimes text.
      points.push(rnd() < 0.5 ? num('mixed', t, rnd() * 10) : { key: 'mixed', ts: t, type: 'str', value: 'n/a' });
      batch.push(message(device, points));
    }
    out.push(batch);
  }
  return out;
}

describe('rollups maintained by ingest', () => {
  it('equal the aggregates of the raw rows, per minute and per hour', async () => {
    const d = await buildDevice();
    for (const batch of traffic(d, 1, 25)) await write(batch);
    await expectRollupsMatchRaw(d.deviceId);
  });

  it('count a re-sent point once, and follow a re-sent point whose value changed', async () => {
    const d = await buildDevice();
    const batches = traffic(d, 2, 6);
    for (const batch of batches) await write(batch);
    // The same batches again (a device replaying its buffer): no change.
    const before = await rollupRows('telemetry_1m', d.deviceId);
    for (const batch of batches) await write(batch);
    expectSameAggregates(await rollupRows('telemetry_1m', d.deviceId), before);
    // A replay with other values, mixed with new points: the raw rows change, and the rollups follow.
    const changed = batches[2]!.map((m) =>
      message(
        d,
        m.telemetry.map((p) => (p.type === 'num' ? { ...p, value: (p.value as number) * -3 + 1 } : p)),
      ),
    );
    await write([...changed, message(d, [num('temperature', T0 + 5 * 3600_000, 99)])]);
    await expectRollupsMatchRaw(d.deviceId);
    // A number replaced by text leaves the bucket's count alone and takes the value out of min/max/sum.
    const p = batches[3]![0]!.telemetry[0]!;
    await write([message(d, [{ key: p.key, ts: p.ts, type: 'str', value: 'replaced' }])]);
    await expectRollupsMatchRaw(d.deviceId);
  });

  it('keep the last of duplicates within one batch, as the raw rows do', async () => {
    const d = await buildDevice();
    const t = T0 + 123_456;
    await write([message(d, [num('x', t, 1), num('x', t, 2)]), message(d, [num('x', t, 30), num('x', t + 1, 4)]), message(d, [num('x', t, -7)])]);
    expect(await rollupRows('telemetry_1m', d.deviceId)).toEqual([expect.objectContaining({ key: 'x', cnt: 2, n: 2, sum: -3, min: -7, max: 4 })]);
    await expectRollupsMatchRaw(d.deviceId);
  });

  it('stay exact under concurrent batches that share buckets', async () => {
    const d = await buildDevice();
    const batches = traffic(d, 3, 12);
    // Overlapping re-sends, some with other values, all at once.
    const extra = batches.slice(0, 4).map((b) =>
      b.map((m) =>
        message(
          d,
          m.telemetry.map((p) => (p.type === 'num' ? { ...p, value: (p.value as number) + 0.5 } : p)),
        ),
      ),
    );
    await Promise.all([...batches, ...extra, ...batches.slice(4, 8)].map((b) => write(b)));
    await expectRollupsMatchRaw(d.deviceId);
  });

  it('tether_rebuild_rollups (bulk loads) gives what ingest maintained', async () => {
    const d = await buildDevice();
    for (const batch of traffic(d, 4, 8)) await write(batch);
    const minutes = await rollupRows('telemetry_1m', d.deviceId);
    const done = await doneUntil();
    const hours = before(await rollupRows('telemetry_1h', d.deviceId), done);
    await db.query('SELECT tether_rebuild_rollups($1, $2, $3)', [new Date(T0 - 3600_000), new Date(), d.deviceId]);
    expectSameAggregates(await rollupRows('telemetry_1m', d.deviceId), minutes);
    expectSameAggregates(before(await rollupRows('telemetry_1h', d.deviceId), done), hours);
  });
});

describe('hour rollups rebuilt by the worker (migration 011)', () => {
  /** Runs fn with the last `hours` hours left to the job, as if it had not run for that long; `now` is the current hour. */
  async function withHoursPending(hours: number, fn: (now: number) => Promise<void>) {
    const now = Math.floor(Date.now() / HOUR) * HOUR;
    await setHours(now - hours * HOUR);
    try {
      await fn(now);
    } finally {
      await setHours(now);
    }
  }

  it('leave hours from hours_routed_until to the job, which builds them from the minute rows', () =>
    withHoursPending(4, async (now) => {
      const d = await buildDevice();
      for (const batch of traffic(d, 6, 25)) await write(batch);
      // Every point is past hours_routed_until: ingest wrote minute rows only.
      expect((await rollupRows('telemetry_1m', d.deviceId)).length).toBeGreaterThan(100);
      expect(await rollupRows('telemetry_1h', d.deviceId)).toEqual([]);
      // History over those hours is exact before the job has run: minutes stand in for hours.
      const telemetry = new TelemetryService(db, { get: async (_a: Actor, id: string) => ({ id }) } as unknown as DevicesService);
      const q = { keys: 'temperature', from: String(T0 - 60_000), to: String(Date.now()), interval: '1h', agg: 'avg' as const };
      const raw = await rawHistory(d.deviceId, ['temperature'], T0 - 60_000, Number(q.to), 3600, 'avg');
      const got = await telemetry.history({} as Actor, d.deviceId, q);
      expect(got.series.temperature!.map((p) => p.ts)).toEqual(raw.map((r) => r.bucket.toISOString()));

      expect(await finalizeHourRollups(db, new Date(now + 1000), 3)).toBe(4);
      expect(await doneUntil()).toBe(now);
      expect(before(await rollupRows('telemetry_1h', d.deviceId), now).length).toBeGreaterThanOrEqual(3);
      await expectRollupsMatchRaw(d.deviceId);
      // The same answer from hour rows, to rounding (sums added in another order).
      const after = (await telemetry.history({} as Actor, d.deviceId, q)).series.temperature!;
      expect(after.map((p) => p.ts)).toEqual(got.series.temperature!.map((p) => p.ts));
      after.forEach((p, i) =>
        expect(Math.abs((p.value as number) - (got.series.temperature![i]!.value as number))).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(p.value as number))),
      );

      // A late point in a rebuilt hour goes to its hour row at once.
      await write([message(d, [num('temperature', T0 + 60_007, 1234)])]);
      await expectRollupsMatchRaw(d.deviceId);
      expect(await finalizeHourRollups(db, new Date(now + 1000))).toBe(0);
    }));

  it('wait for a batch that left an hour to the job before rebuilding that hour', () =>
    withHoursPending(2, async (now) => {
      const d = await buildDevice();
      await write([message(d, [num('t', now - 2 * HOUR + 5_000, 1)])]);
      // A batch that read the old hours_routed_until, still open when the job starts.
      let commit!: () => void;
      const open = new Promise<void>((r) => (commit = r));
      let written!: () => void;
      const wrote = new Promise<void>((r) => (written = r));
      const batch = db.transaction(async (tx) => {
        await writeIngestBatch(tx, [message(d, [num('t', now - 2 * HOUR + 65_000, 100)])]);
        written();
        await open;
      });
      await wrote;
      let finished = false;
      const job = finalizeHourRollups(db, new Date(now + 1000)).then((n) => ((finished = true), n));
      await new Promise((r) => setTimeout(r, 300));
      expect(finished).toBe(false);
      commit();
      await batch;
      expect(await job).toBe(2);
      const [hour] = before(await rollupRows('telemetry_1h', d.deviceId), now);
      expect(hour).toEqual(expect.objectContaining({ cnt: 2, sum: 101, max: 100 }));
    }));

  it('lose nothing from batches that run while the job moves the hours', () =>
    withHoursPending(4, async (now) => {
      const d = await buildDevice();
      const batches = traffic(d, 7, 24);
      for (const batch of batches.slice(0, 8)) await write(batch);
      // The rest of the batches, some re-sent with other values (the merge path), race the job.
      const resent = batches.slice(0, 3).map((b) =>
        b.map((m) =>
          message(
            d,
            m.telemetry.map((p) => (p.type === 'num' ? { ...p, value: (p.value as number) + 1 } : p)),
          ),
        ),
      );
      await Promise.all([...batches.slice(8).map((b) => write(b)), ...resent.map((b) => write(b)), finalizeHourRollups(db, new Date(now + 1000), 1)]);
      await finalizeHourRollups(db, new Date(now + 1000));
      expect(await doneUntil()).toBe(now);
      await expectRollupsMatchRaw(d.deviceId);
    }));
});

describe('history through rollups', () => {
  const actor = {} as Actor;

  it('splits a range into raw, minute and hour tiers that cover it exactly once', () => {
    const H = 3600_000;
    const M = 60_000;
    const base = Date.UTC(2026, 0, 1);
    expect(rollupPlan(base + 30_000, base + 3 * H + 90_000, 3600)).toEqual({ m0: base + M, h0: base + H, h1: base + 3 * H, m1: base + 3 * H + M });
    // Not whole hours: minutes only.
    expect(rollupPlan(base + 30_000, base + 3 * H + 90_000, 300)).toEqual({ m0: base + M, h0: base + M, h1: base + M, m1: base + 3 * H + M });
    // Whole hours requested, but no whole hour inside the range.
    expect(rollupPlan(base + 30_000, base + 50 * M, 3600)).toEqual({ m0: base + M, h0: base + M, h1: base + M, m1: base + 50 * M });
    // No whole minute inside, or buckets that are not whole minutes: raw only.
    expect(rollupPlan(base + 1000, base + 50_000, 60)).toBeNull();
    expect(rollupPlan(base, base + H, 90)).toBeNull();
  });

  it('returns what the raw rows give, for every aggregate and bucket width', async () => {
    const d = await buildDevice();
    for (const batch of traffic(d, 5, 30)) await write(batch);
    const telemetry = new TelemetryService(db, { get: async (_a: Actor, id: string) => ({ id }) } as unknown as DevicesService);
    const ranges: [number, number][] = [
      [T0 - 60_000, Date.now()],
      [T0 + 3_723_456, T0 + 3 * 3600_000 + 1_234],
      [T0 + 7_200_000 - (T0 % 60_000), T0 + 9_000_000 - (T0 % 60_000)],
    ];
    for (const [from, to] of ranges) {
      for (const interval of ['1m', '5m', '1h', '2h', '1d', '90s']) {
        for (const agg of AGGREGATES) {
          const q = { keys: 'temperature,mixed,state', from: String(from), to: String(to), interval, agg };
          const got = await telemetry.history(actor, d.deviceId, q);
          const expected = await rawHistory(d.deviceId, ['temperature', 'mixed', 'state'], from, to, got.interval!, agg);
          for (const key of ['temperature', 'mixed', 'state']) {
            const a = got.series[key]!;
            const e = expected.filter((r) => r.key === key);
            expect(
              a.map((p) => p.ts),
              `${interval} ${agg} ${key}`,
            ).toEqual(e.map((r) => r.bucket.toISOString()));
            a.forEach((p, i) => {
              const want = e[i]!.value;
              if (typeof want === 'number' && typeof p.value === 'number') expect(Math.abs(p.value - want)).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(want)));
              else expect(p.value, `${interval} ${agg} ${key} ${p.ts}`).toEqual(want);
            });
          }
        }
      }
    }
  });
});

/** The pre-rollup query: every aggregate straight from the raw rows. */
async function rawHistory(deviceId: string, keys: string[], from: number, to: number, secs: number, agg: string) {
  const expr: Record<string, string> = {
    avg: 'avg(num)',
    min: 'min(num)',
    max: 'max(num)',
    sum: 'sum(num)',
    count: 'count(*)::float8',
    last: '(array_agg(coalesce(num::text, str, bool::text, json::text) ORDER BY ts DESC))[1]',
  };
  const rows = await db.query<{ key: string; bucket: Date; value: number | string | null }>(
    `SELECT key, date_bin(make_interval(secs => $5), ts, ${ORIGIN}) AS bucket, ${expr[agg]} AS value
     FROM telemetry WHERE device_id = $1 AND key = ANY($2::text[]) AND ts >= $3 AND ts <= $4
     GROUP BY key, bucket ORDER BY key, bucket`,
    [deviceId, keys, new Date(from), new Date(to), secs],
  );
  return rows.map((r) => ({
    ...r,
    value: agg === 'last' && typeof r.value === 'string' && r.value !== '' && !Number.isNaN(Number(r.value)) ? Number(r.value) : r.value,
  }));
}
