import type { Database, Queryable } from '../../platform/db/database.js';
import type { IngestMessage, IngestPoint } from './ingest-message.js';

/** Rollup buckets are aligned on this instant, as the history query's date_bin is. */
const ORIGIN = "TIMESTAMPTZ '2000-01-01 00:00:00+00'";
const UNIQUE_VIOLATION = '23505';
const DEADLOCK = '40P01';
const MAX_ATTEMPTS = 5;
/** Epoch microseconds (int8) as timestamptz: exact, as float8 holds every µs of this era. */
const US = (col: string) => `to_timestamp(${col}::float8 / 1000000)`;
/** devices.last_seen_at is kept to this resolution. */
export const LAST_SEEN_STEP_MS = 1000;

/** The batch's points, joined to `devices` (a table or CTE of ids) so that a deleted device's points are skipped. */
const ptsCte = (devices: string) => `
pts AS MATERIALIZED (
  SELECT u.d, u.k, ${US('u.us')} AS ts, u.num, o.str, o.bool, o.json, u.n
  FROM unnest($1::uuid[], $2::text[], $3::int8[], $4::float8[]) WITH ORDINALITY AS u(d, k, us, num, n)
  LEFT JOIN unnest($5::int8[], $6::text[], $7::boolean[], $8::jsonb[]) AS o(n, str, bool, json) ON o.n = u.n
  JOIN ${devices} dv ON dv.id = u.d
)`;

/**
 * Telemetry, the raw message log and the devices' last-seen times, as one
 * statement. The arrays arrive as Postgres array literals built in one pass
 * (see encodeBatch); timestamps as epoch microseconds.
 *
 * - 'insert' is the fast path: a plain INSERT, and rollups from every point:
 *   per minute always, per hour only for points of hours the hour job has
 *   already rebuilt (late data; migration 011, finalizeHourRollups).
 *   A point that already exists (a re-send, or twice in one batch) fails it
 *   with a unique violation, and the batch is written again by the merge path
 *   (writeMerge), which ends with 'tail'.
 * - 'tail' is everything but telemetry and rollups: the message log, the
 *   latest values and last-seen times.
 *
 * Every ingest transaction locks rows in one order: telemetry, then
 * telemetry_1m, telemetry_1h, telemetry_latest and devices, sorted within each
 * table, so concurrent batches do not deadlock and hold the hot locks briefly.
 * The final SELECT fixes that order: it reads each CTE's count in turn, and
 * Postgres runs a data-modifying CTE when it is first read.
 */
function batchSql(mode: 'insert' | 'tail'): string {
  const rollup = (table: string, width: string, where = '') => `
  INSERT INTO ${table} AS r (device_id, key, bucket, cnt, n, sum, min, max)
  SELECT d, k, date_bin('${width}', ts, ${ORIGIN}) AS b, count(*), count(num), coalesce(sum(num), 0), min(num), max(num)
  FROM pts ${where}GROUP BY d, k, b ORDER BY d, k, b
  ON CONFLICT (device_id, key, bucket) DO UPDATE SET cnt = r.cnt + excluded.cnt, n = r.n + excluded.n, sum = r.sum + excluded.sum,
    min = least(r.min, excluded.min), max = greatest(r.max, excluded.max)
  RETURNING 1`;
  const insert = mode === 'insert';
  return `
WITH live AS MATERIALIZED (
  -- The batch's devices that still exist ($9 holds each message's device): rows of a device
  -- deleted meanwhile are skipped. One primary-key probe per device, whatever the planner
  -- estimates (OFFSET 0 keeps it a per-row lookup), rather than a join to the whole table.
  SELECT dv.id FROM (SELECT DISTINCT d FROM unnest($9::uuid[]) AS u(d)) u
  CROSS JOIN LATERAL (SELECT id FROM devices WHERE id = u.d OFFSET 0) dv
),${ptsCte('live')},${
    insert
      ? `
ins AS (
  INSERT INTO telemetry (device_id, key, ts, num, str, bool, json)
  SELECT d, k, ts, num, str, bool, json FROM pts
  RETURNING 1
),`
      : ''
  }
msg AS MATERIALIZED (
  SELECT u.d, ${US('u.us')} AS at, u.channel, u.transport, u.payload, u.n
  FROM ROWS FROM (unnest($9::uuid[], $10::int8[], $11::text[], $12::text[]), jsonb_array_elements($13::jsonb))
    WITH ORDINALITY AS u(d, us, channel, transport, payload, n)
  JOIN live dv ON dv.id = u.d
),
logged AS (
  -- ORDER BY n: seq follows arrival order, whatever order the join yields.
  INSERT INTO messages (device_id, received_at, channel, transport, payload)
  SELECT d, at, channel, transport, payload FROM msg ORDER BY n
  RETURNING 1
),${
    insert
      ? `
minute AS (${rollup('telemetry_1m', '1 minute')}
),
routed AS MATERIALIZED (SELECT tether_rollup_hours_routed() AS until),
hour AS (${rollup('telemetry_1h', '1 hour', 'WHERE ts < (SELECT until FROM routed) ')}
),`
      : ''
  }
latest AS (
  INSERT INTO telemetry_latest AS t (device_id, key, ts, num, str, bool, json)
  SELECT DISTINCT ON (d, k) d, k, ts, num, str, bool, json FROM pts ORDER BY d, k, ts DESC, n DESC
  ON CONFLICT (device_id, key) DO UPDATE SET ts = excluded.ts, num = excluded.num, str = excluded.str, bool = excluded.bool, json = excluded.json
  WHERE t.ts <= excluded.ts
  RETURNING 1
),
seen_rows AS MATERIALIZED (
  -- Any message counts as a sign of life (architecture §3). last_seen_at moves in steps of at
  -- least a second: a device sending 20 messages a second costs one row update a second, not 20.
  -- Each device row is probed by key and locked in id order: the outer side of the nested
  -- loop is sorted.
  SELECT s.d AS id, s.first, s.last
  FROM (SELECT d, min(at) AS first, max(at) AS last FROM msg GROUP BY d ORDER BY d) s
  CROSS JOIN LATERAL (
    SELECT 1 FROM devices
    WHERE id = s.d AND (last_seen_at IS NULL OR last_seen_at <= s.last - interval '${LAST_SEEN_STEP_MS} milliseconds')
    FOR NO KEY UPDATE
  ) dv
),
seen AS (
  UPDATE devices dv SET last_seen_at = greatest(dv.last_seen_at, l.last), first_seen_at = coalesce(dv.first_seen_at, l.first)
  FROM seen_rows l WHERE dv.id = l.id
  RETURNING 1
)
SELECT (SELECT count(*) FROM pts)::int AS points, ${insert ? '(SELECT count(*) FROM ins)::int AS inserted, ' : ''}(SELECT count(*) FROM logged)::int AS logged,
  ${insert ? '(SELECT count(*) FROM minute) + (SELECT count(*) FROM hour) + ' : ''}(SELECT count(*) FROM latest) + (SELECT count(*) FROM seen) AS hot`;
}
const INSERT_SQL = batchSql('insert');
const TAIL_SQL = batchSql('tail');

/**
 * The merge path, for a batch with points that already exist:
 *
 * 1. A transaction lock per device (in id order) makes merges of one device
 *    take turns; merges of other devices and plain inserts run alongside.
 * 2. Telemetry: new points are inserted in key order, and points that met an
 *    existing (device, key, ts) are updated to the batch's last value.
 * 3. Every rollup bucket the batch touches is locked, 1m then 1h, in key
 *    order, in one statement; a missing bucket is locked by inserting it. A
 *    concurrent insert's increment then lands either before the lock (its raw
 *    rows are then committed and visible to the recompute) or after it, on top.
 * 4. Those buckets are recomputed from the raw rows, in a new statement, so
 *    with a snapshot taken after the locks.
 * 5. The tail: the message log, latest values and last-seen times.
 *
 * That keeps the lock order every ingest transaction follows (batchSql).
 */
const LOCK_DEVICES_SQL = `
SELECT count(pg_advisory_xact_lock(hashtextextended(d::text, 0))) FROM (SELECT DISTINCT d FROM unnest($1::uuid[]) AS u(d) ORDER BY d) x`;

const MERGE_TELEMETRY_SQL = `
WITH ${ptsCte('devices')},
ins AS (
  INSERT INTO telemetry (device_id, key, ts, num, str, bool, json)
  SELECT d, k, ts, num, str, bool, json FROM pts ORDER BY d, k, ts, n
  ON CONFLICT (device_id, key, ts) DO NOTHING
  RETURNING 1
)
SELECT (SELECT count(*) FROM pts)::int AS points, (SELECT count(*) FROM ins)::int AS inserted`;

const REWRITE_SQL = `
WITH u AS (
  SELECT DISTINCT ON (u.d, u.k, u.us) u.d, u.k, ${US('u.us')} AS ts, u.num, o.str, o.bool, o.json
  FROM unnest($1::uuid[], $2::text[], $3::int8[], $4::float8[]) WITH ORDINALITY AS u(d, k, us, num, n)
  LEFT JOIN unnest($5::int8[], $6::text[], $7::boolean[], $8::jsonb[]) AS o(n, str, bool, json) ON o.n = u.n
  ORDER BY u.d, u.k, u.us, u.n DESC
),
locked AS MATERIALIZED (
  SELECT t.ctid AS row, u.num, u.str, u.bool, u.json FROM telemetry t JOIN u ON t.device_id = u.d AND t.key = u.k AND t.ts = u.ts
  WHERE t.num IS DISTINCT FROM u.num OR t.str IS DISTINCT FROM u.str OR t.bool IS DISTINCT FROM u.bool OR t.json IS DISTINCT FROM u.json
  ORDER BY t.device_id, t.key, t.ts FOR UPDATE OF t
)
UPDATE telemetry t SET num = l.num, str = l.str, bool = l.bool, json = l.json FROM locked l WHERE t.ctid = l.row`;

/** The (device, key, minute) buckets of the batch's points: $1 devices, $2 keys, $3 epoch µs. */
const MINUTES = `(SELECT DISTINCT u.d, u.k, date_bin('1 minute', ${US('u.us')}, ${ORIGIN}) AS bucket
  FROM unnest($1::uuid[], $2::text[], $3::int8[]) AS u(d, k, us) JOIN devices dv ON dv.id = u.d)`;
const HOURS = `(SELECT DISTINCT d, k, date_bin('1 hour', bucket, ${ORIGIN}) AS bucket FROM ${MINUTES} m)`;

const LOCK_ROLLUPS_SQL = `
WITH minute AS (
  INSERT INTO telemetry_1m AS r (device_id, key, bucket, cnt, n, sum)
  SELECT d, k, bucket, 0, 0, 0 FROM ${MINUTES} b ORDER BY d, k, bucket
  ON CONFLICT (device_id, key, bucket) DO UPDATE SET cnt = r.cnt
  RETURNING 1
),
hour AS (
  INSERT INTO telemetry_1h AS r (device_id, key, bucket, cnt, n, sum)
  SELECT d, k, bucket, 0, 0, 0 FROM ${HOURS} b ORDER BY d, k, bucket
  ON CONFLICT (device_id, key, bucket) DO UPDATE SET cnt = r.cnt
  RETURNING 1
)
SELECT (SELECT count(*) FROM minute) + (SELECT count(*) FROM hour) AS locked`;

const RECOMPUTE_1M_SQL = `
UPDATE telemetry_1m r SET cnt = a.cnt, n = a.n, sum = a.sum, min = a.min, max = a.max
FROM (
  SELECT b.d, b.k, b.bucket, count(t.ts) AS cnt, count(t.num) AS n, coalesce(sum(t.num), 0) AS sum, min(t.num) AS min, max(t.num) AS max
  FROM ${MINUTES} b LEFT JOIN telemetry t ON t.device_id = b.d AND t.key = b.k AND t.ts >= b.bucket AND t.ts < b.bucket + interval '1 minute'
  GROUP BY b.d, b.k, b.bucket
) a
WHERE r.device_id = a.d AND r.key = a.k AND r.bucket = a.bucket`;

const RECOMPUTE_1H_SQL = `
UPDATE telemetry_1h r SET cnt = a.cnt, n = a.n, sum = a.sum, min = a.min, max = a.max
FROM (
  SELECT h.d, h.k, h.bucket, coalesce(sum(m.cnt), 0) AS cnt, coalesce(sum(m.n), 0) AS n, coalesce(sum(m.sum), 0) AS sum, min(m.min) AS min, max(m.max) AS max
  FROM ${HOURS} h LEFT JOIN telemetry_1m m ON m.device_id = h.d AND m.key = h.k AND m.bucket >= h.bucket AND m.bucket < h.bucket + interval '1 hour'
  GROUP BY h.d, h.k, h.bucket
) a
WHERE r.device_id = a.d AND r.key = a.k AND r.bucket = a.bucket`;

/** Stamped points (receive times, see ReceiveClock) are new by definition: a conflict fails the statement. */
const INSERT_STAMPED_SQL = `
WITH ${ptsCte('devices')}
INSERT INTO telemetry (device_id, key, ts, num, str, bool, json)
SELECT d, k, ts, num, str, bool, json FROM pts ORDER BY d, k, ts, n`;

const stamped = (p: IngestPoint) => p.stamped;
const explicit = (p: IngestPoint) => !p.stamped;

async function writeMerge(tx: Queryable, batch: readonly IngestMessage[]): Promise<void> {
  const ids = `{${[...new Set(batch.map((m) => m.device.deviceId))].join(',')}}`;
  await tx.query(LOCK_DEVICES_SQL, [ids]);
  await resolveStampCollisions(tx, batch);
  const enc = encodeBatch(batch);
  const [d, k, us] = enc.params;
  const own = encodeBatch(batch, stamped);
  if (own.points) await tx.query(INSERT_STAMPED_SQL, own.params.slice(0, 8));
  const replay = encodeBatch(batch, explicit);
  if (replay.points) {
    await tx.query(MERGE_TELEMETRY_SQL, replay.params.slice(0, 8));
    await tx.query(REWRITE_SQL, replay.params.slice(0, 8));
  }
  await tx.query(LOCK_ROLLUPS_SQL, [d, k, us]);
  await tx.query(RECOMPUTE_1M_SQL, [d, k, us]);
  await tx.query(RECOMPUTE_1H_SQL, [d, k, us]);
  await tx.query(TAIL_SQL, enc.params);
}

/** The batch's stamped times (message n, device, µs) that stored rows already hold. */
const COLLISIONS_SQL = `
SELECT u.n FROM unnest($1::int4[], $2::uuid[], $3::text[], $4::int8[]) AS u(n, d, k, us)
WHERE EXISTS (SELECT 1 FROM telemetry t WHERE t.device_id = u.d AND t.key = u.k AND t.ts = ${US('u.us')})
UNION
SELECT u.n FROM unnest($5::int4[], $6::uuid[], $7::int8[]) AS u(n, d, us)
WHERE EXISTS (SELECT 1 FROM heartbeats h WHERE h.device_id = u.d AND h.ts = ${US('u.us')})
UNION
SELECT u.n FROM unnest($8::int4[], $9::uuid[], $10::int8[]) AS u(n, d, us)
WHERE EXISTS (SELECT 1 FROM locations l WHERE l.device_id = u.d AND l.ts = ${US('u.us')})`;

const MAX_RESTAMP_ROUNDS = 64;

/** Moves a message's receive time, and every time of it that was stamped with it. */
function restamp(m: IngestMessage, us: number): void {
  const from = m.receivedAt;
  m.receivedAt = us;
  for (const p of m.telemetry) if (p.stamped && p.ts === from) p.ts = us;
  if (m.alert?.stamped) m.alert.ts = us;
  if (m.heartbeat?.stamped) m.heartbeat.ts = us;
  if (m.location?.stamped) m.location.ts = us;
}

/**
 * A stamped time belongs to one message: if a stored row (or an explicit
 * time of the same batch) already holds it, the message was received by
 * another process whose clock gave the same microsecond (ReceiveClock), and
 * it is moved one microsecond on, with the device's later messages of the
 * batch, until it is free. Explicit times are never moved: a repeat is a
 * replay. Called with the batch's devices locked (writeMerge) or before the
 * stamped rows are inserted, which fail on a conflict rather than merge.
 */
async function resolveStampCollisions(tx: Queryable, batch: readonly IngestMessage[]): Promise<boolean> {
  let moved = false;
  for (let round = 0; round < MAX_RESTAMP_ROUNDS; round++) {
    const taken = new Set<number>();
    const explicitTimes = new Map<string, Set<string>>();
    for (const m of batch) {
      let set = explicitTimes.get(m.device.deviceId);
      if (!set) explicitTimes.set(m.device.deviceId, (set = new Set()));
      for (const p of m.telemetry) if (!p.stamped) set.add(`t${p.key}\u0000${p.ts}`);
      if (m.heartbeat && !m.heartbeat.stamped) set.add(`h${m.heartbeat.ts}`);
      if (m.location && !m.location.stamped) set.add(`l${m.location.ts}`);
    }
    const t: [number[], string[], string[], number[]] = [[], [], [], []];
    const h: [number[], string[], number[]] = [[], [], []];
    const l: [number[], string[], number[]] = [[], [], []];
    batch.forEach((m, n) => {
      const d = m.device.deviceId;
      const set = explicitTimes.get(d)!;
      for (const p of m.telemetry) {
        if (!p.stamped) continue;
        if (set.has(`t${p.key}\u0000${p.ts}`)) taken.add(n);
        t[0].push(n);
        t[1].push(d);
        t[2].push(p.key);
        t[3].push(p.ts);
      }
      if (m.heartbeat?.stamped) {
        if (set.has(`h${m.heartbeat.ts}`)) taken.add(n);
        h[0].push(n);
        h[1].push(d);
        h[2].push(m.heartbeat.ts);
      }
      if (m.location?.stamped) {
        if (set.has(`l${m.location.ts}`)) taken.add(n);
        l[0].push(n);
        l[1].push(d);
        l[2].push(m.location.ts);
      }
    });
    if (t[0].length + h[0].length + l[0].length === 0) return moved;
    const rows = await tx.query<{ n: number }>(COLLISIONS_SQL, [...t, ...h, ...l]);
    for (const r of rows) taken.add(r.n);
    if (taken.size === 0) return moved;
    moved = true;
    // Each taken message moves on by one; the device's later messages keep strictly after it.
    const lastOf = new Map<string, number>();
    batch.forEach((m, n) => {
      const prev = lastOf.get(m.device.deviceId);
      let us = taken.has(n) ? m.receivedAt + 1 : m.receivedAt;
      if (prev !== undefined && us <= prev) us = prev + 1;
      if (us !== m.receivedAt) restamp(m, us);
      lastOf.set(m.device.deviceId, us);
    });
  }
  throw new Error(`stamped times still collide after ${MAX_RESTAMP_ROUNDS} rounds`);
}

/** A Postgres array literal element, always quoted: keys and strings may hold anything. */
const NEEDS_ESCAPE = /[\\"]/;
const quote = (s: string) => (NEEDS_ESCAPE.test(s) ? `"${s.replace(/[\\"]/g, '\\$&')}"` : `"${s}"`);

interface EncodedBatch {
  points: number;
  params: string[];
}

/**
 * One pass over the batch builds every array parameter as text, so the driver
 * has nothing to escape or convert per element. Device ids are UUIDs from the
 * database, channels and transports fixed words: they need no quoting. Values
 * other than numbers go in sparse arrays keyed by point position, so a
 * numbers-only batch carries no columns of NULLs. Payloads are validated JSON
 * text, joined into one JSON array.
 */
function encodeBatch(batch: readonly IngestMessage[], include?: (p: IngestPoint) => boolean): EncodedBatch {
  let d = '',
    k = '',
    ts = '',
    num = '';
  let on = '',
    ostr = '',
    obool = '',
    ojson = '';
  let md = '',
    mat = '',
    mch = '',
    mtr = '',
    payloads = '';
  let points = 0;
  for (let i = 0; i < batch.length; i++) {
    const m = batch[i]!;
    const dev = m.device.deviceId;
    const sep = i === 0 ? '' : ',';
    md += sep + dev;
    mat += sep + m.receivedAt;
    mch += sep + m.channel;
    mtr += sep + m.transport;
    payloads += sep + m.rawJson;
    const tel = m.telemetry;
    for (let j = 0; j < tel.length; j++) {
      const p = tel[j]!;
      if (include && !include(p)) continue;
      const psep = points === 0 ? '' : ',';
      points++;
      d += psep + dev;
      k += psep + quote(p.key);
      ts += psep + p.ts;
      if (p.type === 'num') {
        num += psep + (p.value as number);
        continue;
      }
      num += psep + 'NULL';
      const osep = on === '' ? '' : ',';
      on += osep + points;
      ostr += osep + (p.type === 'str' ? quote(p.value as string) : 'NULL');
      obool += osep + (p.type === 'bool' ? (p.value ? 't' : 'f') : 'NULL');
      ojson += osep + (p.type === 'json' ? quote(JSON.stringify(p.value)) : 'NULL');
    }
  }
  const arr = (s: string) => `{${s}}`;
  return {
    points,
    params: [arr(d), arr(k), arr(ts), arr(num), arr(on), arr(ostr), arr(obool), arr(ojson), arr(md), arr(mat), arr(mch), arr(mtr), `[${payloads}]`],
  };
}

/**
 * A plain INSERT costs about half of the merge path and duplicates are rare,
 * so the fast path goes first, inside a savepoint. A unique violation
 * switches to the merge path. A deadlock (two inserts of the same re-sent
 * points in different orders) rolls back to the savepoint, which releases
 * this batch's row locks, and tries again.
 */
async function writeTelemetry(tx: Queryable, batch: readonly IngestMessage[], enc: EncodedBatch): Promise<void> {
  let mode: 'insert' | 'merge' = 'insert';
  await tx.query('SAVEPOINT ingest_batch');
  for (let attempt = 1; ; attempt++) {
    try {
      if (mode === 'insert') await tx.query(INSERT_SQL, enc.params);
      else await writeMerge(tx, batch);
      return;
    } catch (err) {
      const code = (err as { code?: string }).code;
      // In the merge path, a unique violation is a stamped point that met a row committed
      // after its collision check: the next attempt checks again.
      const retry = code === DEADLOCK || (mode === 'merge' && code === UNIQUE_VIOLATION);
      if (!(mode === 'insert' && code === UNIQUE_VIOLATION) && !(retry && attempt < MAX_ATTEMPTS)) throw err;
      await tx.query('ROLLBACK TO SAVEPOINT ingest_batch');
      if (code === UNIQUE_VIOLATION) mode = 'merge';
    }
  }
}

/**
 * Writes one batch of device messages, committed when this resolves.
 *
 * A batch of telemetry alone (the common case) is one statement, which
 * Postgres commits atomically by itself: sent on its own, prepared, it skips
 * the BEGIN, SAVEPOINT and COMMIT round trips and the planning, about a
 * quarter of a small batch's time. If it meets points that already exist (a
 * unique violation) or a deadlock, nothing of it was written, and the batch
 * goes the full way in a transaction.
 */
export async function writeBatch(db: Database, batch: readonly IngestMessage[]): Promise<void> {
  const enc = encodeBatch(batch);
  if (!batch.some((m) => m.alert || m.heartbeat || m.location || m.attributes)) {
    try {
      await db.queryPrepared('tether_ingest_batch', INSERT_SQL, enc.params);
      return;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code !== UNIQUE_VIOLATION && code !== DEADLOCK) throw err;
    }
  }
  await db.transaction((tx) => writeIngestBatch(tx, batch, enc));
}

/**
 * Writes one batch of device messages in the caller's transaction: one
 * statement for telemetry, its rollups, the raw message log and last-seen
 * times, plus one per other channel present. Never one statement per row.
 * Rows of devices deleted meanwhile are skipped by the joins on devices.
 */
export async function writeIngestBatch(tx: Queryable, batch: readonly IngestMessage[], encoded?: EncodedBatch): Promise<void> {
  // Stamped heartbeats and locations are inserted without merging (they are new by definition),
  // so their times are made free first. Telemetry finds its collisions by a unique violation.
  if (batch.some((m) => m.heartbeat?.stamped || m.location?.stamped) && (await resolveStampCollisions(tx, batch))) encoded = undefined;
  const enc = encoded ?? encodeBatch(batch);
  if (enc.points === 0) {
    await tx.query(INSERT_SQL, enc.params);
  } else {
    await writeTelemetry(tx, batch, enc);
  }

  const alerts: IngestMessage[] = [];
  const heartbeats: IngestMessage[] = [];
  const locations: IngestMessage[] = [];
  const attributes: IngestMessage[] = [];
  for (const m of batch) {
    if (m.alert) alerts.push(m);
    if (m.heartbeat) heartbeats.push(m);
    if (m.location) locations.push(m);
    if (m.attributes) attributes.push(m);
  }

  if (alerts.length) {
    // An alert with an explicit time is idempotent on (device, type, ts): its id is derived from
    // those (decode.ts, alertId), so a replay meets the first copy's primary key and ON CONFLICT DO
    // NOTHING keeps that first copy, as a repeated heartbeat time does. That holds for a row stored
    // earlier, for a concurrent transaction's (the insert waits for it to commit, then skips), and
    // for two copies in this one statement (DO NOTHING, unlike DO UPDATE, skips a row that meets
    // one inserted earlier by the same command). Rows go in id order, then arrival order: two
    // batches replaying the same alerts wait on each other's in one order, so they do not deadlock
    // over them, and within a batch the first copy to arrive is the one kept. Stamped alerts have
    // random ids: always new rows.
    const stored = await tx.query<{ id: string }>(
      `INSERT INTO events (id, org_id, device_id, project_id, kind, type, severity, message, data, ts, files)
       SELECT u.id, dv.org_id, u.d, dv.project_id, 'alert', u.type, u.severity, u.message, u.data, ${US('u.us')},
              ARRAY(SELECT jsonb_array_elements_text(u.files))
       FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::int8[], $8::jsonb[])
         WITH ORDINALITY AS u(id, d, type, severity, message, data, us, files, n)
       JOIN devices dv ON dv.id = u.d
       ORDER BY u.id, u.n
       ON CONFLICT (id) DO NOTHING
       RETURNING id`,
      [
        alerts.map((m) => m.alert!.id),
        alerts.map((m) => m.device.deviceId),
        alerts.map((m) => m.alert!.type),
        alerts.map((m) => m.alert!.severity),
        alerts.map((m) => m.alert!.message),
        alerts.map((m) => JSON.stringify(m.alert!.data)),
        alerts.map((m) => m.alert!.ts),
        alerts.map((m) => JSON.stringify(m.alert!.files)),
      ],
    );
    // A replay is marked, so that what reads the committed batch (alarm evaluation) counts it once.
    // Set on every write: a batch split and written again after a failure is marked afresh.
    const fresh = new Set(stored.map((r) => r.id));
    for (const m of alerts) {
      m.alert!.replay = !fresh.delete(m.alert!.id);
    }
  }

  // A repeated explicit time is a replay (the first heartbeat stays, the last location wins);
  // a stamped time is new by definition, so a conflict fails the batch rather than lose it.
  for (const own of [false, true]) {
    const hbs = heartbeats.filter((m) => m.heartbeat!.stamped === own);
    if (hbs.length === 0) continue;
    await tx.query(
      `INSERT INTO heartbeats (device_id, ts, uptime, battery, rssi, data)
       SELECT u.d, ${US('u.us')}, u.uptime, u.battery, u.rssi, u.data
       FROM unnest($1::uuid[], $2::int8[], $3::float8[], $4::float8[], $5::float8[], $6::jsonb[]) AS u(d, us, uptime, battery, rssi, data)
       JOIN devices dv ON dv.id = u.d${own ? '' : '\n       ON CONFLICT (device_id, ts) DO NOTHING'}`,
      [
        hbs.map((m) => m.device.deviceId),
        hbs.map((m) => m.heartbeat!.ts),
        hbs.map((m) => m.heartbeat!.uptime),
        hbs.map((m) => m.heartbeat!.battery),
        hbs.map((m) => m.heartbeat!.rssi),
        hbs.map((m) => (m.heartbeat!.data ? JSON.stringify(m.heartbeat!.data) : null)),
      ],
    );
  }

  if (locations.length) {
    for (const own of [false, true]) {
      const byKey = new Map(locations.filter((m) => m.location!.stamped === own).map((m) => [`${m.device.deviceId}\u0000${m.location!.ts}`, m]));
      const locs = [...byKey.values()];
      if (locs.length === 0) continue;
      await tx.query(
        `INSERT INTO locations (device_id, ts, lat, lon, alt, speed, heading, accuracy)
         SELECT u.d, ${US('u.us')}, u.lat, u.lon, u.alt, u.speed, u.heading, u.accuracy
         FROM unnest($1::uuid[], $2::int8[], $3::float8[], $4::float8[], $5::float8[], $6::float8[], $7::float8[], $8::float8[])
           AS u(d, us, lat, lon, alt, speed, heading, accuracy)
         JOIN devices dv ON dv.id = u.d${
           own
             ? ''
             : `
         ON CONFLICT (device_id, ts) DO UPDATE SET lat = excluded.lat, lon = excluded.lon, alt = excluded.alt,
           speed = excluded.speed, heading = excluded.heading, accuracy = excluded.accuracy`
         }`,
        [
          locs.map((m) => m.device.deviceId),
          locs.map((m) => m.location!.ts),
          locs.map((m) => m.location!.lat),
          locs.map((m) => m.location!.lon),
          locs.map((m) => m.location!.alt),
          locs.map((m) => m.location!.speed),
          locs.map((m) => m.location!.heading),
          locs.map((m) => m.location!.accuracy),
        ],
      );
    }
    const newest = new Map<string, IngestMessage>();
    for (const m of locations) {
      const cur = newest.get(m.device.deviceId);
      if (!cur || cur.location!.ts <= m.location!.ts) newest.set(m.device.deviceId, m);
    }
    const l = [...newest.values()].sort((a, b) => (a.device.deviceId < b.device.deviceId ? -1 : 1));
    await tx.query(
      `UPDATE devices d SET location_lat = u.lat, location_lon = u.lon, location_at = ${US('u.us')}
       FROM unnest($1::uuid[], $2::float8[], $3::float8[], $4::int8[]) AS u(id, lat, lon, us)
       WHERE d.id = u.id AND (d.location_at IS NULL OR d.location_at <= ${US('u.us')})`,
      [l.map((m) => m.device.deviceId), l.map((m) => m.location!.lat), l.map((m) => m.location!.lon), l.map((m) => m.location!.ts)],
    );
  }

  if (attributes.length) {
    const attrs = new Map<string, { d: string; k: string; v: string; at: number }>();
    for (const m of attributes) {
      for (const [k, v] of Object.entries(m.attributes!))
        attrs.set(`${m.device.deviceId}\u0000${k}`, { d: m.device.deviceId, k, v: JSON.stringify(v), at: m.receivedAt });
    }
    const a = [...attrs.values()].sort((x, y) => (x.d === y.d ? (x.k < y.k ? -1 : 1) : x.d < y.d ? -1 : 1));
    await tx.query(
      // Two batches of one device may commit out of order: the later report wins, not the later commit.
      `INSERT INTO device_attributes AS a (device_id, key, value, updated_at)
       SELECT u.d, u.k, u.v, ${US('u.us')} FROM unnest($1::uuid[], $2::text[], $3::jsonb[], $4::int8[]) AS u(d, k, v, us)
       JOIN devices dv ON dv.id = u.d
       ON CONFLICT (device_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
       WHERE a.updated_at <= excluded.updated_at`,
      [a.map((r) => r.d), a.map((r) => r.k), a.map((r) => r.v), a.map((r) => r.at)],
    );
    // The reported firmware version is also a device column, for fleet filters and OTA.
    const fw = a.filter((r) => r.k === 'fw_version');
    if (fw.length) {
      await tx.query(`UPDATE devices d SET firmware_version = u.v #>> '{}' FROM unnest($1::uuid[], $2::jsonb[]) AS u(id, v) WHERE d.id = u.id`, [
        fw.map((r) => r.d),
        fw.map((r) => r.v),
      ]);
    }
  }
}

const ROLLUP_HOURS_LOCK = 'tether.rollup_hours';

/**
 * Rebuilds telemetry_1h for the hours that have ended (migration 011): the
 * worker calls it every minute. Returns the hours it finished.
 *
 * 1. hours_routed_until moves to the current hour, under the exclusive lock
 *    every ingest batch takes shared: once it is held, every batch that read
 *    the old value (and left those hours' points to this job) has committed.
 * 2. A few hours at a time, in one transaction: the hour rows those hours'
 *    minute rows belong to are locked (a missing one by inserting it), then
 *    recomputed from the minute rows in a new statement, so with a snapshot
 *    taken after the locks; hours_done_until moves past them. A batch adding
 *    a late point to one of those hours meanwhile lands either before the
 *    lock (its minute rows are then visible to the recompute) or after it,
 *    on top: the merge path's reasoning (writeMerge).
 */
export async function finalizeHourRollups(db: Database, now = new Date(), hoursPerTransaction = 6): Promise<number> {
  const current = new Date(Math.floor(now.getTime() / 3600_000) * 3600_000);
  await db.transaction(async (tx) => {
    const [state] = await tx.query<{ routed: Date }>('SELECT hours_routed_until AS routed FROM rollup_state');
    if (!state || state.routed >= current) return;
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [ROLLUP_HOURS_LOCK]);
    await tx.query('UPDATE rollup_state SET hours_routed_until = greatest(hours_routed_until, $1)', [current]);
  });
  let finished = 0;
  for (;;) {
    const n = await db.transaction(async (tx) => {
      const [state] = await tx.query<{ done: Date; routed: Date }>(
        'SELECT hours_done_until AS done, hours_routed_until AS routed FROM rollup_state FOR UPDATE',
      );
      if (!state || state.done >= state.routed) return 0;
      const until = new Date(Math.min(state.routed.getTime(), state.done.getTime() + hoursPerTransaction * 3600_000));
      const range = [state.done, until];
      await tx.query(FINAL_HOURS_LOCK_SQL, range);
      await tx.query(FINAL_HOURS_RECOMPUTE_SQL, range);
      await tx.query('UPDATE rollup_state SET hours_done_until = $1', [until]);
      return Math.round((until.getTime() - state.done.getTime()) / 3600_000);
    });
    if (!n) return finished;
    finished += n;
  }
}

/** The hour rows of the minute rows in [$1, $2), locked in key order; a missing one is inserted empty. */
const FINAL_HOURS_LOCK_SQL = `
INSERT INTO telemetry_1h AS r (device_id, key, bucket, cnt, n, sum)
SELECT DISTINCT device_id, key, date_bin('1 hour', bucket, ${ORIGIN}) AS b, 0, 0, 0
FROM telemetry_1m WHERE bucket >= $1 AND bucket < $2
ORDER BY device_id, key, b
ON CONFLICT (device_id, key, bucket) DO UPDATE SET cnt = r.cnt`;

const FINAL_HOURS_RECOMPUTE_SQL = `
UPDATE telemetry_1h r SET cnt = a.cnt, n = a.n, sum = a.sum, min = a.min, max = a.max
FROM (
  SELECT device_id, key, date_bin('1 hour', bucket, ${ORIGIN}) AS b, sum(cnt) AS cnt, sum(n) AS n, sum(sum) AS sum, min(min) AS min, max(max) AS max
  FROM telemetry_1m WHERE bucket >= $1 AND bucket < $2
  GROUP BY device_id, key, b
) a
WHERE r.device_id = a.device_id AND r.key = a.key AND r.bucket = a.b`;
