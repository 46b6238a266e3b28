import { describe, expect, it } from 'vitest';
import type { UplinkChannel } from '@tether/contracts';
import { alertId, decodePayload, MAX_KEY_LENGTH, MAX_POINTS_PER_MESSAGE, MAX_STRING_VALUE, parseTimestamp } from './decode.js';
import { IngestRejection, type RejectReason } from './ingest-message.js';

const NOW = Date.UTC(2024, 5, 15, 12, 0, 0);
const MAX = 256 * 1024;

const DEVICE = '6f1c2b9e-4d3a-4f5e-8a7b-1c2d3e4f5a6b';

const raw = (channel: UplinkChannel, payload: unknown, maxBytes = MAX, deviceId = DEVICE) =>
  decodePayload(channel, typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload), NOW * 1000, maxBytes, deviceId);

/** Decodes, and shows times in milliseconds (the decoder keeps microseconds) without the stamped flags: see 'receive times'. */
function decode(channel: UplinkChannel, payload: unknown, maxBytes = MAX) {
  const out = raw(channel, payload, maxBytes);
  const ms = <T extends { ts: number; stamped: boolean }>(x: T) => {
    const { stamped: _s, ...rest } = x;
    return { ...rest, ts: x.ts / 1000 };
  };
  const opt = <T extends { ts: number; stamped: boolean }>(x: T | null) => x && ms(x);
  return { ...out, telemetry: out.telemetry.map(ms), alert: opt(out.alert), heartbeat: opt(out.heartbeat), location: opt(out.location) };
}

function rejection(fn: () => unknown): IngestRejection {
  try {
    fn();
  } catch (err) {
    if (err instanceof IngestRejection) return err;
    throw err;
  }
  throw new Error('expected an IngestRejection, but nothing was thrown');
}
const reasonOf = (channel: UplinkChannel, payload: unknown, maxBytes = MAX): RejectReason => rejection(() => decode(channel, payload, maxBytes)).reason;

describe('telemetry shapes', () => {
  it('a flat object: every key at the receive time', () => {
    const out = decode('telemetry', { temperature: 21.5, humidity: 40 });
    expect(out.telemetry).toEqual([
      { key: 'temperature', ts: NOW, type: 'num', value: 21.5 },
      { key: 'humidity', ts: NOW, type: 'num', value: 40 },
    ]);
    expect(out.alert).toBeNull();
    expect(out.identity).toEqual({ deviceId: null, jwt: null });
  });

  it('{ts, values} with ms since the epoch', () => {
    const ts = NOW - 60_000;
    expect(decode('telemetry', { ts, values: { v: 1 } }).telemetry).toEqual([{ key: 'v', ts, type: 'num', value: 1 }]);
  });

  it('{ts, values} with an ISO 8601 string, with and without an offset', () => {
    expect(decode('telemetry', { ts: '2024-06-15T10:00:00.250Z', values: { v: 1 } }).telemetry[0]!.ts).toBe(Date.UTC(2024, 5, 15, 10, 0, 0, 250));
    expect(decode('telemetry', { ts: '2024-06-15T12:00:00+02:00', values: { v: 1 } }).telemetry[0]!.ts).toBe(Date.UTC(2024, 5, 15, 10));
    // Minutes only, a date alone, and no zone (read as UTC, as the seed's shape is, whatever the server's zone).
    expect(decode('telemetry', { ts: '2024-06-15T12:30+0200', values: { v: 1 } }).telemetry[0]!.ts).toBe(Date.UTC(2024, 5, 15, 10, 30));
    expect(decode('telemetry', { ts: '2024-06-15', values: { v: 1 } }).telemetry[0]!.ts).toBe(Date.UTC(2024, 5, 15));
    expect(decode('telemetry', { ts: '2024-06-15T10:00', values: { v: 1 } }).telemetry[0]!.ts).toBe(Date.UTC(2024, 5, 15, 10));
  });

  it('a flat object with its own ts or timestamp, which is not a reading', () => {
    const a = decode('telemetry', { ts: NOW - 1000, t: 1 }).telemetry;
    expect(a).toEqual([{ key: 't', ts: NOW - 1000, type: 'num', value: 1 }]);
    const b = decode('telemetry', { timestamp: '2024-06-15T11:00:00Z', t: 2 }).telemetry;
    expect(b).toEqual([{ key: 't', ts: Date.UTC(2024, 5, 15, 11), type: 'num', value: 2 }]);
  });

  it('seed 000\'s "2023-03-29 13:15:56.811550" is UTC, to the microsecond', () => {
    const out = raw('telemetry', { temperature: 87, timestamp: '2023-03-29 13:15:56.811550' });
    expect(out.telemetry).toEqual([{ key: 'temperature', ts: Date.UTC(2023, 2, 29, 13, 15, 56, 811) * 1000 + 550, type: 'num', value: 87, stamped: false }]);
    // Without a fraction, and with fewer than three digits.
    expect(decode('telemetry', { v: 1, timestamp: '2023-03-29 13:15:56' }).telemetry[0]!.ts).toBe(Date.UTC(2023, 2, 29, 13, 15, 56));
    expect(decode('telemetry', { v: 1, timestamp: '2023-03-29 13:15:56.8' }).telemetry[0]!.ts).toBe(Date.UTC(2023, 2, 29, 13, 15, 56, 800));
  });

  it('an array of both shapes', () => {
    const out = decode('telemetry', [{ ts: NOW - 2000, values: { a: 1, b: 'x' } }, { c: true }, { ts: NOW - 1000, values: { a: 2 } }]);
    expect(out.telemetry).toEqual([
      { key: 'a', ts: NOW - 2000, type: 'num', value: 1 },
      { key: 'b', ts: NOW - 2000, type: 'str', value: 'x' },
      { key: 'c', ts: NOW, type: 'bool', value: true },
      { key: 'a', ts: NOW - 1000, type: 'num', value: 2 },
    ]);
  });

  it('accepts a Buffer as well as a string', () => {
    expect(decodePayload('telemetry', Buffer.from('{"v":3}'), NOW * 1000, MAX, DEVICE).telemetry).toEqual([
      { key: 'v', ts: NOW * 1000, type: 'num', value: 3, stamped: true },
    ]);
  });
});

describe('value types', () => {
  it('number, string, boolean and JSON (objects and arrays)', () => {
    const out = decode('telemetry', { n: -1.5, zero: 0, s: 'ok', empty: '', b: false, o: { x: 1 }, a: [1, 'two'] });
    const byKey = Object.fromEntries(out.telemetry.map((p) => [p.key, { type: p.type, value: p.value }]));
    expect(byKey).toEqual({
      n: { type: 'num', value: -1.5 },
      zero: { type: 'num', value: 0 },
      s: { type: 'str', value: 'ok' },
      empty: { type: 'str', value: '' },
      b: { type: 'bool', value: false },
      o: { type: 'json', value: { x: 1 } },
      a: { type: 'json', value: [1, 'two'] },
    });
  });

  it('keys and strings up to the limits are accepted', () => {
    const key = 'k'.repeat(MAX_KEY_LENGTH);
    expect(decode('telemetry', { [key]: 's'.repeat(MAX_STRING_VALUE) }).telemetry[0]!.key).toBe(key);
  });
});

describe('rejections', () => {
  it('malformed_json for text that is not JSON', () => {
    expect(reasonOf('telemetry', '{"temperature": 21.5')).toBe('malformed_json');
    expect(reasonOf('alerts', 'not json')).toBe('malformed_json');
    expect(reasonOf('heartbeat', '{')).toBe('malformed_json');
  });

  it('invalid_value for null, non-finite numbers, over-long keys and strings', () => {
    expect(reasonOf('telemetry', '{"temperature": null}')).toBe('invalid_value');
    expect(reasonOf('telemetry', '{"temperature": 1e999}')).toBe('invalid_value');
    expect(reasonOf('telemetry', '{"temperature": -1e999}')).toBe('invalid_value');
    expect(reasonOf('telemetry', { ts: NOW, values: { t: null } })).toBe('invalid_value');
    expect(reasonOf('telemetry', { ['k'.repeat(MAX_KEY_LENGTH + 1)]: 1 })).toBe('invalid_value');
    expect(reasonOf('telemetry', { '': 1 })).toBe('invalid_value');
    expect(reasonOf('telemetry', { s: 's'.repeat(MAX_STRING_VALUE + 1) })).toBe('invalid_value');
  });

  it('invalid_timestamp for out-of-range and unparseable timestamps', () => {
    expect(reasonOf('telemetry', { ts: Date.UTC(1999, 11, 31), values: { v: 1 } })).toBe('invalid_timestamp');
    expect(reasonOf('telemetry', { ts: NOW + 25 * 3600_000, values: { v: 1 } })).toBe('invalid_timestamp');
    // Seconds instead of milliseconds are in 1970: out of range, not silently misfiled.
    expect(reasonOf('telemetry', { ts: Math.floor(NOW / 1000), values: { v: 1 } })).toBe('invalid_timestamp');
    expect(reasonOf('telemetry', { ts: 'yesterday', values: { v: 1 } })).toBe('invalid_timestamp');
    // Strings V8's Date.parse would guess a date from ("x-12" was 2001-12-01): not ISO 8601, refused.
    for (const ts of ['x-12', 'bad-2001', 'Mon, 07 Dec 2026 10:00:00 GMT', '12/07/2026', '2026-12-07 10:00']) {
      expect(reasonOf('telemetry', { ts, values: { v: 1 } }), ts).toBe('invalid_timestamp');
    }
    expect(reasonOf('telemetry', { timestamp: '2023-13-45 99:99:99', v: 1 })).toBe('invalid_timestamp');
    expect(reasonOf('telemetry', { ts: true, values: { v: 1 } })).toBe('invalid_timestamp');
    expect(reasonOf('telemetry', '{"ts": 1e999, "values": {"v": 1}}')).toBe('invalid_value'); // out of range before it is read as a time;
    expect(reasonOf('telemetry', { ts: -1, values: { v: 1 } })).toBe('invalid_timestamp');
    expect(reasonOf('alerts', { message: 'm', ts: 'garbage' })).toBe('invalid_timestamp');
    expect(reasonOf('location', { lat: 1, lon: 2, ts: 1 })).toBe('invalid_timestamp');
  });

  it('a null ts is refused rather than silently replaced by the receive time', () => {
    expect(reasonOf('telemetry', { ts: null, values: { t: 1 } })).toBe('invalid_timestamp');
  });

  it('milliseconds sent as a digit string are accepted, as the REST API accepts them', () => {
    const ms = NOW - 60_000;
    expect(decode('telemetry', { ts: String(ms), values: { t: 1 } }).telemetry[0]!.ts).toBe(ms);
  });

  it('an attribute named __proto__ is kept as an ordinary attribute', () => {
    const out = decode('attributes', '{"__proto__": {"x": 1}, "model": "rpi4"}');
    expect(Object.keys(out.attributes!).sort()).toEqual(['__proto__', 'model']);
  });

  it('a timestamp up to a day ahead is accepted', () => {
    expect(parseTimestamp(NOW + 23 * 3600_000, NOW * 1000)).toBe((NOW + 23 * 3600_000) * 1000);
    // A fraction of a millisecond is kept, to the microsecond.
    expect(parseTimestamp(NOW + 0.9, NOW * 1000)).toBe(NOW * 1000 + 900);
  });

  it('too_large for a payload over the limit, before parsing', () => {
    expect(reasonOf('telemetry', Buffer.alloc(1025, 'x'), 1024)).toBe('too_large');
    expect(reasonOf('telemetry', JSON.stringify({ s: 'x'.repeat(2000) }), 1024)).toBe('too_large');
    expect(decode('telemetry', JSON.stringify({ s: 'x'.repeat(900) }), 1024).telemetry).toHaveLength(1);
  });

  it('invalid_payload for empty telemetry and arrays of non-objects', () => {
    expect(reasonOf('telemetry', '')).toBe('invalid_payload');
    expect(reasonOf('telemetry', {})).toBe('invalid_payload');
    expect(reasonOf('telemetry', [])).toBe('invalid_payload');
    expect(reasonOf('telemetry', { ts: NOW, values: {} })).toBe('invalid_payload');
    expect(reasonOf('telemetry', { ts: NOW })).toBe('invalid_payload');
    expect(reasonOf('telemetry', [1, 2, 3])).toBe('invalid_payload');
    expect(reasonOf('telemetry', [{ v: 1 }, 'x'])).toBe('invalid_payload');
    expect(reasonOf('telemetry', [[{ v: 1 }]])).toBe('invalid_payload');
    expect(reasonOf('telemetry', 42)).toBe('invalid_payload');
    expect(reasonOf('telemetry', '"text"')).toBe('invalid_payload');
    expect(reasonOf('telemetry', 'null')).toBe('invalid_payload');
    expect(reasonOf('telemetry', { ts: NOW, values: [1, 2] })).toBe('invalid_payload');
  });

  it('invalid_payload for more points than one message may carry', () => {
    const many = Object.fromEntries(Array.from({ length: MAX_POINTS_PER_MESSAGE + 1 }, (_, i) => [`k${i}`, i]));
    expect(reasonOf('telemetry', many, 10 * 1024 * 1024)).toBe('invalid_payload');
  });
});

describe('alerts', () => {
  it('defaults severity to warning, type to null and data to {}', () => {
    const out = decode('alerts', { message: 'Gas leakage detected' });
    expect(out.alert).toMatchObject({ ts: NOW, message: 'Gas leakage detected', severity: 'warning', type: null, data: {} });
    expect(out.alert!.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(out.telemetry).toEqual([]);
  });

  it('keeps severity, type, data and ts', () => {
    const out = decode('alerts', { message: 'm', severity: 'critical', type: 'gas', data: { ppm: 900 }, ts: NOW - 5000 });
    expect(out.alert).toMatchObject({ message: 'm', severity: 'critical', type: 'gas', data: { ppm: 900 }, ts: NOW - 5000 });
    expect(raw('alerts', { message: 'm', timestamp: '2023-03-29 13:15:56.811550' }).alert!.ts).toBe(Date.UTC(2023, 2, 29, 13, 15, 56, 811) * 1000 + 550);
  });

  it('rejects a missing or empty message, an unknown severity and unknown fields', () => {
    expect(reasonOf('alerts', { severity: 'critical' })).toBe('invalid_payload');
    expect(reasonOf('alerts', { message: '' })).toBe('invalid_payload');
    expect(reasonOf('alerts', { message: 'm', severity: 'apocalyptic' })).toBe('invalid_payload');
    expect(reasonOf('alerts', { message: 'm', extra: 1 })).toBe('invalid_payload');
    expect(reasonOf('alerts', { message: 'm', data: [1] })).toBe('invalid_payload');
    expect(reasonOf('alerts', '')).toBe('invalid_payload');
    expect(reasonOf('alerts', [{ message: 'm' }])).toBe('invalid_payload');
  });

  it('gives every alert without ts its own id, even of the same type at the same receive time', () => {
    const a = raw('alerts', { message: 'm', type: 'gas' }).alert!;
    const b = raw('alerts', { message: 'm', type: 'gas' }).alert!;
    expect(a.stamped && b.stamped && a.ts === b.ts).toBe(true);
    expect(a.id).not.toBe(b.id);
  });

  it('derives the id of an alert with ts from (device, type, ts), so a replay has the same id', () => {
    const id = (payload: object, deviceId = DEVICE) => raw('alerts', payload, MAX, deviceId).alert!.id;
    const ts = NOW - 5000;
    const gas = id({ message: 'Gas leak', severity: 'critical', type: 'gas', ts });
    // A valid UUID: version 8 (RFC 9562, custom), RFC variant.
    expect(gas).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(gas).toBe(alertId(DEVICE, 'gas', ts * 1000));
    // Message, severity and data do not make another alert; the same instant written another way is the same time.
    expect(id({ message: 'other text', severity: 'info', type: 'gas', ts, data: { ppm: 1 } })).toBe(gas);
    expect(id({ message: 'm', type: 'gas', timestamp: new Date(ts).toISOString() })).toBe(gas);
    expect(id({ message: 'm', type: 'gas', ts: String(ts) })).toBe(gas);
    // Another type, time or device is another alert.
    expect(id({ message: 'm', type: 'smoke', ts })).not.toBe(gas);
    expect(id({ message: 'm', type: 'gas', ts: ts + 0.001 })).not.toBe(gas);
    expect(id({ message: 'm', type: 'gas', ts }, '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d')).not.toBe(gas);
    // No type is one type of its own, distinct from every string.
    const untyped = id({ message: 'm', ts });
    expect(id({ message: 'other', ts })).toBe(untyped);
    expect(new Set([untyped, alertId(DEVICE, '', ts * 1000), id({ message: 'm', type: 'null', ts }), id({ message: 'm', type: 'n', ts })]).size).toBe(4);
  });
});

describe('heartbeats', () => {
  it('an empty payload is a heartbeat at the receive time', () => {
    const out = decode('heartbeat', '');
    expect(out.heartbeat).toEqual({ ts: NOW, uptime: null, battery: null, rssi: null, data: null });
    expect(out.rawJson).toBe('{}');
  });

  it('keeps uptime, battery, rssi and extra scalar fields', () => {
    const out = decode('heartbeat', { uptime: 100, battery: 87, rssi: -70, fw: '1.2', charging: true });
    expect(out.heartbeat).toEqual({ ts: NOW, uptime: 100, battery: 87, rssi: -70, data: { fw: '1.2', charging: true } });
  });

  it('rejects negative uptime, nested extras and non-finite numbers', () => {
    expect(reasonOf('heartbeat', { uptime: -1 })).toBe('invalid_payload');
    expect(reasonOf('heartbeat', { extra: { nested: 1 } })).toBe('invalid_payload');
    expect(reasonOf('heartbeat', { battery: 'full' })).toBe('invalid_payload');
    // The schema's number type already refuses Infinity, for known and extra fields alike.
    expect(reasonOf('heartbeat', '{"battery": 1e999}')).toBe('invalid_value');
    expect(reasonOf('heartbeat', '{"temp": 1e999}')).toBe('invalid_value');
    expect(reasonOf('heartbeat', '[1]')).toBe('invalid_payload');
  });
});

describe('locations', () => {
  it('requires lat and lon within range', () => {
    expect(decode('location', { lat: 52.37, lon: 4.89, alt: 3, speed: 40, heading: 90, accuracy: 5 }).location).toEqual({
      ts: NOW,
      lat: 52.37,
      lon: 4.89,
      alt: 3,
      speed: 40,
      heading: 90,
      accuracy: 5,
    });
    expect(decode('location', { lat: -90, lon: 180 }).location).toMatchObject({ lat: -90, lon: 180, alt: null, speed: null, heading: null, accuracy: null });
    expect(reasonOf('location', { lat: 123, lon: 4 })).toBe('invalid_payload');
    expect(reasonOf('location', { lat: 1, lon: -181 })).toBe('invalid_payload');
    expect(reasonOf('location', { lat: 1 })).toBe('invalid_payload');
    expect(reasonOf('location', { lat: '1', lon: 2 })).toBe('invalid_payload');
    expect(reasonOf('location', { lat: 1, lon: 2, heading: 361 })).toBe('invalid_payload');
    expect(reasonOf('location', { lat: 1, lon: 2, speed: -1 })).toBe('invalid_payload');
    expect(reasonOf('location', { lat: 1, lon: 2, color: 'red' })).toBe('invalid_payload');
  });
});

describe('attributes', () => {
  it('keeps any non-null JSON value', () => {
    expect(decode('attributes', { fw_version: '1.4.2', model: 'rpi4', cores: 4, flags: { a: true } }).attributes).toEqual({
      fw_version: '1.4.2',
      model: 'rpi4',
      cores: 4,
      flags: { a: true },
    });
  });

  it('rejects empty objects, non-objects, null values, non-finite numbers, over-long keys and too many keys', () => {
    expect(reasonOf('attributes', {})).toBe('invalid_payload');
    expect(reasonOf('attributes', [1])).toBe('invalid_payload');
    expect(reasonOf('attributes', '"x"')).toBe('invalid_payload');
    expect(reasonOf('attributes', { a: null })).toBe('invalid_value');
    expect(reasonOf('attributes', '{"a": 1e999}')).toBe('invalid_value');
    expect(reasonOf('attributes', { ['k'.repeat(MAX_KEY_LENGTH + 1)]: 1 })).toBe('invalid_value');
    expect(reasonOf('attributes', Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`a${i}`, i])))).toBe('invalid_payload');
    expect(Object.keys(decode('attributes', Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`a${i}`, i]))).attributes!)).toHaveLength(200);
  });
});

describe('seed 000 identity fields', () => {
  const DEVICE = '507f1f77-bcf8-4cd7-9943-901100000000';
  const JWT = 'aaa.bbb.ccc';

  it('are extracted from telemetry, are not readings, and the JWT is removed from rawJson', () => {
    const out = decode('telemetry', { device_id: DEVICE, jwt_token: JWT, temperature: 87, humidity: 99, timestamp: '2023-03-29 13:15:56.811550' });
    expect(out.identity).toEqual({ deviceId: DEVICE, jwt: JWT });
    expect(out.telemetry.map((p) => p.key)).toEqual(['temperature', 'humidity']);
    expect(out.rawJson).not.toContain(JWT);
    expect(out.rawJson).not.toContain('jwt_token');
    expect(JSON.parse(out.rawJson)).toEqual({ device_id: DEVICE, temperature: 87, humidity: 99, timestamp: '2023-03-29 13:15:56.811550' });
  });

  it('are extracted from every entry of an array, and must agree', () => {
    const out = decode('telemetry', [
      { device_id: DEVICE, jwt_token: JWT, a: 1 },
      { device_id: DEVICE, b: 2 },
    ]);
    expect(out.identity).toEqual({ deviceId: DEVICE, jwt: JWT });
    expect(JSON.parse(out.rawJson)).toEqual([
      { device_id: DEVICE, a: 1 },
      { device_id: DEVICE, b: 2 },
    ]);
    expect(
      reasonOf('telemetry', [
        { device_id: DEVICE, a: 1 },
        { device_id: 'other', b: 2 },
      ]),
    ).toBe('identity_mismatch');
  });

  it('are extracted from alerts, heartbeats, locations and attributes', () => {
    for (const [channel, body] of [
      ['alerts', { message: 'm' }],
      ['heartbeat', { uptime: 1 }],
      ['location', { lat: 1, lon: 2 }],
      ['attributes', { model: 'x' }],
    ] as [UplinkChannel, Record<string, unknown>][]) {
      const out = decode(channel, { ...body, device_id: DEVICE, jwt_token: JWT });
      expect(out.identity, channel).toEqual({ deviceId: DEVICE, jwt: JWT });
      expect(out.rawJson, channel).not.toContain(JWT);
      expect(JSON.parse(out.rawJson), channel).toEqual({ ...body, device_id: DEVICE });
    }
    const hb = decode('heartbeat', { uptime: 1, device_id: DEVICE, jwt_token: JWT });
    expect(hb.heartbeat!.data).toBeNull();
    expect(decode('attributes', { model: 'x', device_id: DEVICE, jwt_token: JWT }).attributes).toEqual({ model: 'x' });
  });

  it('must be strings', () => {
    expect(reasonOf('telemetry', { device_id: 42, v: 1 })).toBe('invalid_payload');
    expect(reasonOf('telemetry', { jwt_token: {}, v: 1 })).toBe('invalid_payload');
    expect(reasonOf('attributes', { device_id: 42, model: 'x' })).toBe('invalid_payload');
  });

  it('without a JWT, rawJson is the payload text unchanged', () => {
    const text = '{ "device_id": "x",  "v": 1 }';
    expect(decode('telemetry', text).rawJson).toBe(text);
  });

  it('a payload with only identity fields carries no readings', () => {
    expect(reasonOf('telemetry', { device_id: DEVICE, jwt_token: JWT })).toBe('invalid_payload');
    expect(reasonOf('attributes', { device_id: DEVICE })).toBe('invalid_payload');
  });
});

describe('receive times', () => {
  it('a time the payload does not carry is the receive time, and marked stamped', () => {
    const out = raw('telemetry', [{ a: 1 }, { ts: NOW - 1000, values: { b: 2 } }]);
    expect(out.telemetry).toEqual([
      { key: 'a', ts: NOW * 1000, type: 'num', value: 1, stamped: true },
      { key: 'b', ts: (NOW - 1000) * 1000, type: 'num', value: 2, stamped: false },
    ]);
    expect(raw('alerts', { message: 'm' }).alert).toMatchObject({ ts: NOW * 1000, stamped: true });
    expect(raw('alerts', { message: 'm', ts: NOW }).alert).toMatchObject({ ts: NOW * 1000, stamped: false });
    expect(raw('heartbeat', '').heartbeat).toMatchObject({ ts: NOW * 1000, stamped: true });
    expect(raw('heartbeat', { ts: NOW }).heartbeat).toMatchObject({ stamped: false });
    expect(raw('location', { lat: 1, lon: 2 }).location).toMatchObject({ ts: NOW * 1000, stamped: true });
    expect(raw('location', { lat: 1, lon: 2, ts: NOW }).location).toMatchObject({ stamped: false });
  });

  it('microseconds of an ISO 8601 time are kept', () => {
    expect(raw('telemetry', { ts: '2024-06-15T10:00:00.250123Z', v: 1 }).telemetry[0]!.ts).toBe(Date.UTC(2024, 5, 15, 10, 0, 0, 250) * 1000 + 123);
    expect(raw('telemetry', { ts: '2024-06-15T12:00:00.0001+02:00', v: 1 }).telemetry[0]!.ts).toBe(Date.UTC(2024, 5, 15, 10) * 1000 + 100);
    expect(raw('telemetry', { timestamp: '2023-03-29 13:15:56.8115509', v: 1 }).telemetry[0]!.ts).toBe(Date.UTC(2023, 2, 29, 13, 15, 56, 811) * 1000 + 550);
  });
});

describe('JSON the database cannot store', () => {
  it('is refused at decode time, with a reason, on every channel', () => {
    const deep = (n: number) => `${'['.repeat(n)}1${']'.repeat(n)}`;
    expect(reasonOf('attributes', `{"a":${deep(8000)}}`)).toBe('invalid_payload');
    expect(rejection(() => decode('attributes', `{"a":${deep(40)}}`)).message).toMatch(/nested deeper than 32/);
    expect(decode('attributes', `{"a":${deep(30)}}`).attributes).toBeTruthy();
    expect(reasonOf('telemetry', '{"k":"\\ud800"}')).toBe('invalid_value');
    expect(reasonOf('telemetry', '{"k":"\\udc00x"}')).toBe('invalid_value');
    expect(reasonOf('telemetry', '{"k":"a\\u0000"}')).toBe('invalid_value');
    expect(reasonOf('attributes', '{"k\\u0000":1}')).toBe('invalid_value');
    expect(reasonOf('alerts', '{"message":"m","data":{"x":"\\ud800"}}')).toBe('invalid_value');
    expect(reasonOf('heartbeat', '{"extra":{"n":1e999}}')).toBe('invalid_value');
    // A surrogate pair (an emoji) is fine.
    expect(decode('telemetry', '{"k":"\\ud83d\\ude00"}').telemetry[0]!.value).toBe('😀');
  });
});
