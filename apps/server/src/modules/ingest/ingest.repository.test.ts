/**
 * writeIngestBatch against a real database: PGlite by default, Postgres when
 * DATABASE_URL is set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TelemetryPoint } from '@tether/contracts';
import { testDatabase, testMessage } from '../../../test/helpers.js';
import type { Database } from '../../platform/db/database.js';
import { ensurePartitions } from '../../platform/db/migrate.js';
import type { DeviceIdentity } from '../devices/devices.repository.js';
import { decodePayload } from './decode.js';
import type { IngestMessage } from './ingest-message.js';
import { writeBatch, writeIngestBatch } from './ingest.repository.js';

let db: Database;
let close: () => Promise<void>;
let orgId: string;

beforeAll(async () => {
  ({ db, close } = await testDatabase());
  // Daily partitions exist before any row is written, as on a running server.
  await ensurePartitions(db);
  orgId = (await db.query<{ id: string }>("INSERT INTO orgs (name) VALUES ('ingest-test') RETURNING id"))[0]!.id;
});
afterAll(async () => {
  await close?.();
});

async function buildDevice(name = 'device'): Promise<DeviceIdentity> {
  const [p] = await db.query<{ id: string }>('INSERT INTO projects (org_id, name) VALUES ($1, $2) RETURNING id', [orgId, `${name}-${Math.random()}`]);
  const [d] = await db.query<{ id: string }>('INSERT INTO devices (org_id, project_id, name) VALUES ($1, $2, $3) RETURNING id', [orgId, p!.id, name]);
  return { deviceId: d!.id, orgId, projectId: p!.id };
}

const buildMessage = testMessage;
const num = (key: string, ts: number, value: number): TelemetryPoint => ({ key, ts, type: 'num', value });

// The entry point ingest uses: one prepared statement when it can, a transaction when it must.
const write = (batch: IngestMessage[]) => writeBatch(db, batch);

async function count(table: string, deviceId: string): Promise<number> {
  const [r] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE device_id = $1`, [deviceId]);
  return r!.n;
}
async function history(deviceId: string, key: string) {
  const rows = await db.query<{ ts: Date; num: number | null; str: string | null; bool: boolean | null; json: unknown }>(
    'SELECT ts, num, str, bool, json FROM telemetry WHERE device_id = $1 AND key = $2 ORDER BY ts',
    [deviceId, key],
  );
  return rows.map((r) => ({ ts: r.ts.getTime(), value: r.num ?? r.str ?? r.bool ?? r.json }));
}
async function latest(deviceId: string) {
  const rows = await db.query<{ key: string; ts: Date; num: number | null; str: string | null; bool: boolean | null; json: unknown }>(
    'SELECT key, ts, num, str, bool, json FROM telemetry_latest WHERE device_id = $1 ORDER BY key',
    [deviceId],
  );
  return Object.fromEntries(rows.map((r) => [r.key, { ts: r.ts.getTime(), value: r.num ?? r.str ?? r.bool ?? r.json }]));
}
async function deviceRow(deviceId: string) {
  const [r] = await db.query<{
    first_seen_at: Date | null;
    last_seen_at: Date | null;
    firmware_version: string | null;
    location_lat: number | null;
    location_lon: number | null;
    location_at: Date | null;
  }>('SELECT first_seen_at, last_seen_at, firmware_version, location_lat, location_lon, location_at FROM devices WHERE id = $1', [deviceId]);
  return r!;
}

// Whole seconds, so timestamptz (microseconds) round-trips exactly.
const T = Math.floor(Date.now() / 1000) * 1000 - 3600_000;

describe('writeIngestBatch', () => {
  it('writes telemetry of every type and the latest values', async () => {
    const d = await buildDevice();
    await write([
      buildMessage(d, {
        telemetry: [
          num('temperature', T, 21.5),
          { key: 'label', ts: T, type: 'str', value: 'ok' },
          { key: 'pump', ts: T, type: 'bool', value: true },
          { key: 'shape', ts: T, type: 'json', value: { a: [1, 2] } },
        ],
      }),
      buildMessage(d, { telemetry: [num('temperature', T + 1000, 22)] }),
    ]);
    expect(await history(d.deviceId, 'temperature')).toEqual([
      { ts: T, value: 21.5 },
      { ts: T + 1000, value: 22 },
    ]);
    expect(await latest(d.deviceId)).toEqual({
      label: { ts: T, value: 'ok' },
      pump: { ts: T, value: true },
      shape: { ts: T, value: { a: [1, 2] } },
      temperature: { ts: T + 1000, value: 22 },
    });
  });

  it('writes in the caller’s transaction: a failure anywhere in the batch leaves nothing behind', async () => {
    const d = await buildDevice();
    const good = buildMessage(d, { telemetry: [num('t', T, 1)], attributes: { model: 'x' } });
    // locations.lat is NOT NULL; this row fails after the telemetry statements ran.
    const poison = buildMessage(d, {
      channel: 'location',
      location: { ts: T, lat: null as unknown as number, lon: 1, alt: null, speed: null, heading: null, accuracy: null },
    });
    await expect(write([good, poison])).rejects.toThrow();
    for (const table of ['telemetry', 'telemetry_latest', 'locations', 'device_attributes', 'messages']) {
      expect(await count(table, d.deviceId), table).toBe(0);
    }
    expect((await deviceRow(d.deviceId)).last_seen_at).toBeNull();

    // And a caller that rolls back undoes a batch that succeeded.
    await expect(
      db.transaction(async (tx) => {
        await writeIngestBatch(tx, [good]);
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    expect(await count('telemetry', d.deviceId)).toBe(0);
    expect(await count('telemetry_latest', d.deviceId)).toBe(0);
  });

  it('keeps the last value for a duplicate (device, key, ts) within one batch, without an error', async () => {
    const d = await buildDevice();
    await write([
      buildMessage(d, { telemetry: [num('t', T, 1), num('t', T, 2)] }),
      buildMessage(d, { telemetry: [num('t', T, 3)] }),
      buildMessage(d, { telemetry: [{ key: 't', ts: T, type: 'str', value: 'four' }] }),
    ]);
    expect(await history(d.deviceId, 't')).toEqual([{ ts: T, value: 'four' }]);
    expect(await latest(d.deviceId)).toEqual({ t: { ts: T, value: 'four' } });
  });

  it('is idempotent: re-sending the same batch adds no telemetry, latest, heartbeat, location or attribute rows', async () => {
    const d = await buildDevice();
    const batch = [
      buildMessage(d, { telemetry: [num('a', T, 1), num('a', T + 1000, 2), num('b', T, 3)] }),
      buildMessage(d, { channel: 'heartbeat', heartbeat: { ts: T, uptime: 5, battery: 80, rssi: -60, data: null } }),
      buildMessage(d, { channel: 'location', location: { ts: T, lat: 10, lon: 20, alt: null, speed: null, heading: null, accuracy: null } }),
      buildMessage(d, { channel: 'attributes', attributes: { model: 'rpi4' } }),
    ];
    await write(batch);
    const tables = ['telemetry', 'telemetry_latest', 'heartbeats', 'locations', 'device_attributes'];
    const before = await Promise.all(tables.map((t) => count(t, d.deviceId)));
    expect(before).toEqual([3, 2, 1, 1, 1]);
    await write(batch);
    await write(batch);
    expect(await Promise.all(tables.map((t) => count(t, d.deviceId)))).toEqual(before);
    expect(await history(d.deviceId, 'a')).toEqual([
      { ts: T, value: 1 },
      { ts: T + 1000, value: 2 },
    ]);
    // The raw message history is a log of what arrived, so it does grow.
    expect(await count('messages', d.deviceId)).toBe(12);
  });

  it('moves the latest value only forward in time', async () => {
    const d = await buildDevice();
    await write([buildMessage(d, { telemetry: [num('t', T + 5000, 5)] })]);
    // An older reading (a store-and-forward upload) is history, not the latest.
    await write([buildMessage(d, { telemetry: [num('t', T, 1)] })]);
    expect(await latest(d.deviceId)).toEqual({ t: { ts: T + 5000, value: 5 } });
    expect((await history(d.deviceId, 't')).map((p) => p.value)).toEqual([1, 5]);
    // Within one batch too, whatever the order.
    await write([buildMessage(d, { telemetry: [num('t', T + 9000, 9), num('t', T + 7000, 7)] })]);
    expect(await latest(d.deviceId)).toEqual({ t: { ts: T + 9000, value: 9 } });
    // A newer one moves it.
    await write([buildMessage(d, { telemetry: [num('t', T + 10_000, 10)] })]);
    expect(await latest(d.deviceId)).toEqual({ t: { ts: T + 10_000, value: 10 } });
  });

  it('skips rows of a device deleted meanwhile and still writes the rest of the batch', async () => {
    const gone = await buildDevice('gone');
    const alive = await buildDevice('alive');
    await db.query('DELETE FROM devices WHERE id = $1', [gone.deviceId]);
    const everything = (d: DeviceIdentity) => [
      buildMessage(d, { telemetry: [num('t', T, 1)] }),
      buildMessage(d, { channel: 'alerts', alert: { id: crypto.randomUUID(), ts: T, message: 'm', severity: 'critical', type: null, data: {}, files: [] } }),
      buildMessage(d, { channel: 'heartbeat', heartbeat: { ts: T, uptime: null, battery: null, rssi: null, data: null } }),
      buildMessage(d, { channel: 'location', location: { ts: T, lat: 1, lon: 2, alt: null, speed: null, heading: null, accuracy: null } }),
      buildMessage(d, { channel: 'attributes', attributes: { fw_version: '9.9.9' } }),
    ];
    await write([...everything(gone), ...everything(alive)]);
    for (const table of ['telemetry', 'telemetry_latest', 'events', 'heartbeats', 'locations', 'device_attributes', 'messages']) {
      expect(await count(table, gone.deviceId), table).toBe(0);
      expect(await count(table, alive.deviceId), table).toBeGreaterThan(0);
    }
  });

  it('writes alerts, heartbeats, locations, attributes and the raw messages', async () => {
    const d = await buildDevice();
    const alertId = crypto.randomUUID();
    const received = T + 60_000;
    await write([
      buildMessage(d, {
        channel: 'alerts',
        transport: 'http',
        receivedAt: received,
        rawJson: '{"message":"Gas leakage detected"}',
        alert: { id: alertId, ts: T, message: 'Gas leakage detected', severity: 'critical', type: 'gas', data: { ppm: 900 }, files: ['cab.mp4', 'road.mp4'] },
      }),
      buildMessage(d, { channel: 'heartbeat', receivedAt: received, heartbeat: { ts: T, uptime: 100, battery: 87, rssi: -70, data: { fw: '1.2' } } }),
      buildMessage(d, { channel: 'location', receivedAt: received, location: { ts: T, lat: 52.37, lon: 4.89, alt: 3, speed: 40, heading: 90, accuracy: 5 } }),
      buildMessage(d, {
        channel: 'location',
        receivedAt: received,
        location: { ts: T - 1000, lat: 1, lon: 1, alt: null, speed: null, heading: null, accuracy: null },
      }),
      buildMessage(d, { channel: 'attributes', receivedAt: received, attributes: { fw_version: '1.4.2', model: 'rpi4', caps: { wifi: true } } }),
    ]);

    const [alert] = await db.query<Record<string, unknown>>('SELECT * FROM events WHERE device_id = $1', [d.deviceId]);
    expect(alert).toMatchObject({
      id: alertId,
      org_id: orgId,
      project_id: d.projectId,
      kind: 'alert',
      type: 'gas',
      severity: 'critical',
      message: 'Gas leakage detected',
      data: { ppm: 900 },
      files: ['cab.mp4', 'road.mp4'],
    });
    expect((alert!.ts as Date).getTime()).toBe(T);

    const hb = await db.query<Record<string, unknown>>('SELECT uptime, battery, rssi, data, ts FROM heartbeats WHERE device_id = $1', [d.deviceId]);
    expect(hb).toEqual([{ uptime: 100, battery: 87, rssi: -70, data: { fw: '1.2' }, ts: new Date(T) }]);

    const locs = await db.query<Record<string, unknown>>('SELECT ts, lat, lon, alt, speed, heading, accuracy FROM locations WHERE device_id = $1 ORDER BY ts', [
      d.deviceId,
    ]);
    expect(locs).toEqual([
      { ts: new Date(T - 1000), lat: 1, lon: 1, alt: null, speed: null, heading: null, accuracy: null },
      { ts: new Date(T), lat: 52.37, lon: 4.89, alt: 3, speed: 40, heading: 90, accuracy: 5 },
    ]);

    const attrs = await db.query<{ key: string; value: unknown; updated_at: Date }>(
      'SELECT key, value, updated_at FROM device_attributes WHERE device_id = $1 ORDER BY key',
      [d.deviceId],
    );
    expect(attrs).toEqual([
      { key: 'caps', value: { wifi: true }, updated_at: new Date(received) },
      { key: 'fw_version', value: '1.4.2', updated_at: new Date(received) },
      { key: 'model', value: 'rpi4', updated_at: new Date(received) },
    ]);

    // The device row carries the newest location and the reported firmware version.
    const row = await deviceRow(d.deviceId);
    expect(row).toMatchObject({ firmware_version: '1.4.2', location_lat: 52.37, location_lon: 4.89 });
    expect(row.location_at?.getTime()).toBe(T);

    const msgs = await db.query<{ channel: string; transport: string; payload: unknown; received_at: Date }>(
      'SELECT channel, transport, payload, received_at FROM messages WHERE device_id = $1 ORDER BY seq',
      [d.deviceId],
    );
    // Only the set: within one received_at, seq need not follow the order of the batch.
    expect(msgs.map((m) => m.channel).sort()).toEqual(['alerts', 'attributes', 'heartbeat', 'location', 'location']);
    expect(msgs.find((m) => m.channel === 'alerts')).toEqual({
      channel: 'alerts',
      transport: 'http',
      payload: { message: 'Gas leakage detected' },
      received_at: new Date(received),
    });

    // An older location later does not move the device's position back.
    await write([
      buildMessage(d, { channel: 'location', location: { ts: T - 5000, lat: -5, lon: -5, alt: null, speed: null, heading: null, accuracy: null } }),
    ]);
    expect((await deviceRow(d.deviceId)).location_lat).toBe(52.37);
    // A later attribute report overwrites the value.
    await write([buildMessage(d, { channel: 'attributes', attributes: { fw_version: '1.5.0' } })]);
    expect((await deviceRow(d.deviceId)).firmware_version).toBe('1.5.0');
    expect(await count('device_attributes', d.deviceId)).toBe(3);
  });

  it('sets first_seen_at once and moves last_seen_at forward only', async () => {
    const d = await buildDevice();
    expect(await deviceRow(d.deviceId)).toMatchObject({ first_seen_at: null, last_seen_at: null });
    await write([buildMessage(d, { receivedAt: T, telemetry: [num('t', T, 1)] })]);
    let row = await deviceRow(d.deviceId);
    expect(row.first_seen_at?.getTime()).toBe(T);
    expect(row.last_seen_at?.getTime()).toBe(T);

    // Any channel counts, and the newest receive time of a batch wins.
    await write([
      buildMessage(d, { receivedAt: T + 10_000, channel: 'heartbeat', heartbeat: { ts: T + 10_000, uptime: null, battery: null, rssi: null, data: null } }),
      buildMessage(d, { receivedAt: T + 2000, telemetry: [num('t', T + 2000, 2)] }),
    ]);
    row = await deviceRow(d.deviceId);
    expect(row.first_seen_at?.getTime()).toBe(T);
    expect(row.last_seen_at?.getTime()).toBe(T + 10_000);

    // A batch that was received earlier but committed later does not move it back.
    await write([buildMessage(d, { receivedAt: T + 5000, telemetry: [num('t', T + 5000, 3)] })]);
    expect((await deviceRow(d.deviceId)).last_seen_at?.getTime()).toBe(T + 10_000);
  });

  it('moves last_seen_at in steps of at least a second, so a chatty device does not rewrite its row per batch', async () => {
    const d = await buildDevice();
    await write([buildMessage(d, { receivedAt: T, telemetry: [num('t', T, 1)] })]);
    await write([buildMessage(d, { receivedAt: T + 400, telemetry: [num('t', T + 400, 2)] })]);
    expect((await deviceRow(d.deviceId)).last_seen_at?.getTime()).toBe(T);
    await write([buildMessage(d, { receivedAt: T + 1000, telemetry: [num('t', T + 1000, 3)] })]);
    expect((await deviceRow(d.deviceId)).last_seen_at?.getTime()).toBe(T + 1000);
  });

  it('puts today’s rows in the daily partitions and old rows in the default partition', async () => {
    const d = await buildDevice();
    const now = Date.now();
    const old = Date.UTC(2023, 2, 29, 13, 15, 56);
    await write([
      buildMessage(d, { receivedAt: now, telemetry: [num('t', now, 1), num('t', old, 0)] }),
      buildMessage(d, { receivedAt: now, channel: 'heartbeat', heartbeat: { ts: now, uptime: null, battery: null, rssi: null, data: null } }),
      buildMessage(d, { receivedAt: now, channel: 'location', location: { ts: now, lat: 1, lon: 1, alt: null, speed: null, heading: null, accuracy: null } }),
    ]);
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10).replaceAll('-', '');
    const partitionOf = async (table: string, tsColumn: string, ts: number) => {
      const [r] = await db.query<{ part: string }>(`SELECT tableoid::regclass::text AS part FROM ${table} WHERE device_id = $1 AND ${tsColumn} = $2`, [
        d.deviceId,
        new Date(ts),
      ]);
      return r?.part;
    };
    expect(await partitionOf('telemetry', 'ts', now)).toBe(`telemetry_${day(now)}`);
    expect(await partitionOf('telemetry', 'ts', old)).toBe('telemetry_default');
    expect(await partitionOf('heartbeats', 'ts', now)).toBe(`heartbeats_${day(now)}`);
    expect(await partitionOf('locations', 'ts', now)).toBe(`locations_${day(now)}`);
    expect(await partitionOf('messages', 'received_at', now)).toBe(`messages_${day(now)}`);
  });

  it('writes a batch of many devices and points in one go', async () => {
    const devices = await Promise.all(Array.from({ length: 5 }, (_, i) => buildDevice(`bulk-${i}`)));
    const batch = devices.flatMap((d) =>
      Array.from({ length: 20 }, (_, i) => buildMessage(d, { receivedAt: T + i, telemetry: [num('x', T + i * 1000, i), num('y', T + i * 1000, -i)] })),
    );
    await write(batch);
    for (const d of devices) {
      expect(await count('telemetry', d.deviceId)).toBe(40);
      expect(await latest(d.deviceId)).toEqual({ x: { ts: T + 19_000, value: 19 }, y: { ts: T + 19_000, value: -19 } });
      expect(await count('messages', d.deviceId)).toBe(20);
    }
  });

  describe('receive times (payloads without ts)', () => {
    // Two messages stamped with the same microsecond: what two processes' clocks can give one device.
    const stampedMessage = (d: DeviceIdentity, at: number, value: number) =>
      buildMessage(d, {
        receivedAt: at,
        telemetry: [
          { ...num('t', at, value), stamped: true },
          { ...num('u', at, -value), stamped: true },
        ],
      });
    const values = async (deviceId: string, key: string) => (await history(deviceId, key)).map((p) => p.value);

    it('a stamped time a stored row holds moves on, and both messages are kept', async () => {
      const d = await buildDevice();
      await write([stampedMessage(d, T, 1)]);
      const again = [stampedMessage(d, T, 2), stampedMessage(d, T, 3)];
      await write(again);
      expect(await values(d.deviceId, 't')).toEqual([1, 2, 3]);
      expect(await values(d.deviceId, 'u')).toEqual([-1, -2, -3]);
      // Moved by a microsecond each, the message's receive time with them.
      expect(again.map((m) => m.receivedAt - T * 1000)).toEqual([1, 2]);
      expect(again.map((m) => m.telemetry.map((p) => p.ts - T * 1000))).toEqual([
        [1, 1],
        [2, 2],
      ]);
      expect(await count('messages', d.deviceId)).toBe(3);
      const [rollup] = await db.query<{ cnt: number; sum: number }>("SELECT cnt::int, sum FROM telemetry_1m WHERE device_id = $1 AND key = 't'", [d.deviceId]);
      expect(rollup).toEqual({ cnt: 3, sum: 6 });
    });

    it('a stamped time never merges with an explicit one, stored or in the same batch', async () => {
      const d = await buildDevice();
      await write([buildMessage(d, { receivedAt: T, telemetry: [num('t', T, 1)] })]);
      await write([stampedMessage(d, T, 2), buildMessage(d, { receivedAt: T + 1, telemetry: [num('t', T + 1, 3)] }), stampedMessage(d, T + 1, 4)]);
      expect(await values(d.deviceId, 't')).toEqual([1, 2, 3, 4]);
      // An explicit time that repeats is still a replay.
      await write([buildMessage(d, { receivedAt: T + 2, telemetry: [num('t', T + 1, 3)] })]);
      expect(await values(d.deviceId, 't')).toEqual([1, 2, 3, 4]);
    });

    it('stamped heartbeats and locations that meet stored ones are kept too', async () => {
      const d = await buildDevice();
      const hb = (at: number, battery: number) =>
        buildMessage(d, { receivedAt: at, channel: 'heartbeat', heartbeat: { ts: at, stamped: true, uptime: null, battery, rssi: null, data: null } });
      const loc = (at: number, lat: number) =>
        buildMessage(d, {
          receivedAt: at,
          channel: 'location',
          location: { ts: at, stamped: true, lat, lon: 1, alt: null, speed: null, heading: null, accuracy: null },
        });
      await write([hb(T, 1), loc(T, 10)]);
      await write([hb(T, 2), loc(T, 20), hb(T, 3)]);
      const batteries = await db.query<{ battery: number }>('SELECT battery FROM heartbeats WHERE device_id = $1 ORDER BY ts', [d.deviceId]);
      expect(batteries.map((r) => r.battery)).toEqual([1, 2, 3]);
      const lats = await db.query<{ lat: number }>('SELECT lat FROM locations WHERE device_id = $1 ORDER BY ts', [d.deviceId]);
      expect(lats.map((r) => r.lat)).toEqual([10, 20]);
    });

    it('a later attribute report wins even if its batch commits first', async () => {
      const d = await buildDevice();
      await write([buildMessage(d, { receivedAt: T + 10, channel: 'attributes', attributes: { mode: 'new' } })]);
      await write([buildMessage(d, { receivedAt: T, channel: 'attributes', attributes: { mode: 'old' } })]);
      const [a] = await db.query<{ value: string }>("SELECT value FROM device_attributes WHERE device_id = $1 AND key = 'mode'", [d.deviceId]);
      expect(a!.value).toBe('new');
    });
  });
  describe('alerts: idempotent on (device, type, ts)', () => {
    /** The alert message ingest builds from a device's payload: the decoder gives the id (random, or derived from an explicit ts). */
    const alertMessage = (d: DeviceIdentity, payload: Record<string, unknown>, receivedAt = T + 60_000): IngestMessage => {
      const rawJson = JSON.stringify(payload);
      const { alert } = decodePayload('alerts', rawJson, receivedAt * 1000, 64 * 1024, d.deviceId);
      return { ...buildMessage(d, { channel: 'alerts', receivedAt, rawJson }), alert };
    };
    const stored = (deviceId: string) =>
      db.query<{ id: string; type: string | null; message: string; ts: Date }>(
        'SELECT id, type, message, ts FROM events WHERE device_id = $1 ORDER BY ts, type NULLS FIRST, message',
        [deviceId],
      );

    it('stores an alert with ts once, however often it is replayed, and keeps the first copy', async () => {
      const d = await buildDevice();
      const gas = (message: string) => alertMessage(d, { message, severity: 'critical', type: 'gas', ts: T });
      await write([gas('Gas leak')]);
      await write([gas('Gas leak, again')]);
      await write([gas('Gas leak, third time')]);
      expect((await stored(d.deviceId)).map((r) => r.message)).toEqual(['Gas leak']);
      // Every copy is still in the raw message history.
      expect(await count('messages', d.deviceId)).toBe(3);
    });

    it('stores copies within one batch once (ON CONFLICT DO NOTHING within one INSERT), the first to arrive', async () => {
      const d = await buildDevice();
      const batch = ['first', 'second', 'third'].map((message) => alertMessage(d, { message, type: 'gas', ts: T }));
      // The copies in one statement, with other alerts around them, sorted before and after them by id.
      const others = [1, 2, 3, 4].map((i) => alertMessage(d, { message: `other ${i}`, type: `t${i}`, ts: T }));
      await write([others[0]!, batch[0]!, others[1]!, batch[1]!, others[2]!, batch[2]!, others[3]!]);
      const rows = await stored(d.deviceId);
      expect(rows.map((r) => `${r.type}:${r.message}`)).toEqual(['gas:first', 't1:other 1', 't2:other 2', 't3:other 3', 't4:other 4']);
      expect(rows.find((r) => r.type === 'gas')!.id).toBe(batch[0]!.alert!.id);
      // Also when the whole batch is replayed, and in the caller's transaction.
      await db.transaction((tx) => writeIngestBatch(tx, [...batch, ...others]));
      expect(await stored(d.deviceId)).toHaveLength(5);
    });

    it('keys on device, type and ts: another type, time or device is another alert; no type is one type', async () => {
      const [d, e] = [await buildDevice(), await buildDevice()];
      const batch = (dev: DeviceIdentity) => [
        alertMessage(dev, { message: 'a', type: 'gas', ts: T }),
        alertMessage(dev, { message: 'b', type: 'smoke', ts: T }),
        alertMessage(dev, { message: 'c', type: 'gas', ts: T + 1 }),
        alertMessage(dev, { message: 'd', ts: T }),
        alertMessage(dev, { message: 'e', ts: T }),
        alertMessage(dev, { message: 'f', timestamp: new Date(T).toISOString() }),
      ];
      await write([...batch(d), ...batch(e)]);
      await write(batch(d));
      for (const dev of [d, e]) {
        expect((await stored(dev.deviceId)).map((r) => `${r.type}@${r.ts.getTime() - T}:${r.message}`)).toEqual([
          'null@0:d',
          'gas@0:a',
          'smoke@0:b',
          'gas@1:c',
        ]);
      }
    });

    it('stores every alert without ts, even at one receive time, and never merges one with an explicit alert', async () => {
      const d = await buildDevice();
      // Five at the same receive time: what two processes' clocks can give (the decoder gives each a random id).
      const burst = [0, 1, 2, 3, 4].map((i) => alertMessage(d, { message: `burst ${i}`, type: 'gas' }, T));
      expect(burst.every((m) => m.alert!.stamped && m.alert!.ts === T * 1000)).toBe(true);
      await write(burst);
      // An explicit alert at that very time, of that type: a different alert, not a replay of a stamped one.
      await write([alertMessage(d, { message: 'explicit', type: 'gas', ts: T }, T + 1)]);
      await write([alertMessage(d, { message: 'explicit again', type: 'gas', ts: T }, T + 2)]);
      expect((await stored(d.deviceId)).map((r) => r.message)).toEqual(['burst 0', 'burst 1', 'burst 2', 'burst 3', 'burst 4', 'explicit']);
    });

    it('stores each alert once under concurrent batches replaying the same alerts in different orders', async () => {
      const d = await buildDevice();
      // The device was seen this second: the batches need not update (and lock) its row, so nothing
      // makes them take turns before their alerts, as a chatty device's batches run (LAST_SEEN_STEP_MS).
      await write([buildMessage(d, { receivedAt: T + 60_000 })]);
      // Enough alerts that the inserts overlap: on PostgreSQL, without the INSERT's ORDER BY id, this
      // deadlocked in 2 runs of 3 (two batches each holding an alert the other one wanted).
      const payloads = Array.from({ length: 2000 }, (_, i) => ({ message: `alert ${i}`, type: `t${i % 4}`, ts: T + i }));
      const batches = Array.from({ length: 8 }, (_, b) => {
        const order = b % 2 ? [...payloads].reverse() : payloads.slice(b).concat(payloads.slice(0, b));
        // No telemetry: a point of the device in each batch would make them take turns on its latest-value row.
        return [...order.map((p) => alertMessage(d, p)), alertMessage(d, { message: `own ${b}` }, T + 100 + b)];
      });
      await Promise.all(batches.map((b) => write(b)));
      const rows = await stored(d.deviceId);
      expect(rows.filter((r) => r.message.startsWith('alert')).map((r) => r.message)).toEqual(payloads.map((p) => p.message));
      expect(rows.filter((r) => r.message.startsWith('own'))).toHaveLength(8);
    });
  });
});
