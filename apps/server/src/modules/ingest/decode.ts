/**
 * decode → validate → normalize for device payloads (architecture §4).
 * Pure functions: no I/O, so they are cheap on the hot path and easy to test.
 */
import { createHash, randomUUID } from 'node:crypto';
import { AlertPayload, HeartbeatPayload, LocationPayload, MAX_ALERT_FILES, type UplinkChannel } from '@tether/contracts';
import { Compile } from 'typebox/compile';
import { assertStorableJson, UnstorableJsonError } from '../../platform/json/storable.js';
import { IngestRejection, type DecodedAlert, type DecodedHeartbeat, type DecodedLocation, type IngestPoint } from './ingest-message.js';

const alertCheck = Compile(AlertPayload);
const heartbeatCheck = Compile(HeartbeatPayload);
const locationCheck = Compile(LocationPayload);

export const MAX_KEY_LENGTH = 128;
/**
 * Largest magnitude of a numeric telemetry value. The rollups add values up
 * (float8); two of ±1e308 in one minute overflow the sum, which PostgreSQL
 * refuses, so the whole batch failed. Below 1e300 a bucket holds 1.8e8 values.
 */
export const MAX_NUMBER_MAGNITUDE = 1e300;
export const MAX_STRING_VALUE = 8192;
export const MAX_POINTS_PER_MESSAGE = 10_000;
const MIN_TS_US = Date.UTC(2000, 0, 1) * 1000;
const MAX_FUTURE_US = 24 * 3600_000_000;

/** Seed 000: "2023-03-29 13:15:56.811550", no zone, taken as UTC. */
const SEED_TS = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?$/;
/** The fraction of the seconds in an ISO 8601 string, for its microseconds (Date.parse stops at milliseconds). */
/** ISO 8601: a date, or a date and time with an optional fraction and zone (group 1: the time, 2: the zone). */
const ISO_TS = /^\d{4}-\d{2}-\d{2}(?:T(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})?)?$/i;
const ISO_FRACTION = /:\d{2}\.(\d{4,})/;

/**
 * A device's `ts`, in microseconds since the epoch: a number of milliseconds
 * (a fraction is kept to the microsecond), a string of digits, or ISO 8601
 * (seed 000's microseconds are kept). `nowUs` bounds it: at most a day ahead.
 */
export function parseTimestamp(v: unknown, nowUs: number): number {
  let us: number;
  if (typeof v === 'number') {
    us = Math.round(v * 1000);
  } else if (typeof v === 'string' && /^\d{10,16}$/.test(v)) {
    us = Number(v) * 1000;
  } else if (typeof v === 'string') {
    const m = SEED_TS.exec(v);
    // Only ISO 8601 beyond the seed's shape: V8's Date.parse also guesses at anything ("x-12" was
    // 2001-12-01). A date-time without a zone is UTC, as the seed's is, whatever the server's zone.
    const iso = m ? null : ISO_TS.exec(v);
    if (!m && !iso) throw new IngestRejection('invalid_timestamp', `cannot parse timestamp ${JSON.stringify(v)}: use ms since the epoch or ISO 8601`);
    const ms = m ? Date.parse(`${m[1]}T${m[2]}.${(m[3] ?? '0').padEnd(3, '0').slice(0, 3)}Z`) : Date.parse(iso![2] || !iso![1] ? v : `${v}Z`);
    const frac = m ? m[3] : ISO_FRACTION.exec(v)?.[1];
    us = ms * 1000 + (frac && frac.length > 3 ? Number(frac.slice(3, 6).padEnd(3, '0')) : 0);
  } else {
    throw new IngestRejection('invalid_timestamp', 'ts must be milliseconds since the epoch or an ISO 8601 string');
  }
  if (!Number.isFinite(us)) throw new IngestRejection('invalid_timestamp', `cannot parse timestamp ${JSON.stringify(v)}`);
  if (us < MIN_TS_US || us > nowUs + MAX_FUTURE_US) {
    throw new IngestRejection('invalid_timestamp', `timestamp ${JSON.stringify(v)} is out of range (ms since epoch, after 2000, at most a day ahead)`);
  }
  return us;
}

export function parseJson(payload: Buffer | string): unknown {
  if (payload.length === 0) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
  } catch {
    throw new IngestRejection('malformed_json', 'payload is not valid JSON');
  }
  try {
    assertStorableJson(body);
  } catch (err) {
    if (err instanceof UnstorableJsonError) throw new IngestRejection(err.kind === 'too_deep' ? 'invalid_payload' : 'invalid_value', err.message);
    throw err;
  }
  return body;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The identity fields of seed 000's message shape; checked against the connection, then dropped. */
export interface EmbeddedIdentity {
  deviceId: string | null;
  jwt: string | null;
}

function takeIdentity(obj: Record<string, unknown>, out: EmbeddedIdentity): void {
  if ('device_id' in obj) {
    if (typeof obj.device_id !== 'string') throw new IngestRejection('invalid_payload', 'device_id must be a string');
    if (out.deviceId !== null && out.deviceId !== obj.device_id) throw new IngestRejection('identity_mismatch', 'device_id differs within one message');
    out.deviceId = obj.device_id;
  }
  if ('jwt_token' in obj) {
    if (typeof obj.jwt_token !== 'string') throw new IngestRejection('invalid_payload', 'jwt_token must be a string');
    out.jwt = obj.jwt_token;
  }
}

/** Names a telemetry reading cannot have: they are the envelope of a message. */
export const RESERVED_TELEMETRY_KEYS = new Set(['ts', 'timestamp', 'values', 'device_id', 'jwt_token']);

function pushValue(points: IngestPoint[], key: string, value: unknown, ts: number, stamped: boolean): void {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) throw new IngestRejection('invalid_value', `telemetry key must have 1 to ${MAX_KEY_LENGTH} characters`);
  switch (typeof value) {
    case 'number':
      // JSON cannot carry NaN, but 1e999 parses to Infinity.
      if (!Number.isFinite(value)) throw new IngestRejection('invalid_value', `${key}: number is not finite`);
      if (Math.abs(value) > MAX_NUMBER_MAGNITUDE) throw new IngestRejection('invalid_value', `${key}: number is out of range (at most ±1e300)`);
      points.push({ key, ts, type: 'num', value, stamped });
      return;
    case 'string':
      if (value.length > MAX_STRING_VALUE) throw new IngestRejection('invalid_value', `${key}: string longer than ${MAX_STRING_VALUE}`);
      points.push({ key, ts, type: 'str', value, stamped });
      return;
    case 'boolean':
      points.push({ key, ts, type: 'bool', value, stamped });
      return;
    case 'object':
      if (value === null) throw new IngestRejection('invalid_value', `${key}: null is not a telemetry value`);
      points.push({ key, ts, type: 'json', value, stamped });
      return;
    default:
      throw new IngestRejection('invalid_value', `${key}: unsupported value type`);
  }
}

function telemetryEntry(entry: unknown, now: number, points: IngestPoint[], identity: EmbeddedIdentity): void {
  if (!isPlainObject(entry)) throw new IngestRejection('invalid_payload', 'telemetry must be a JSON object or an array of objects');
  takeIdentity(entry, identity);
  const tsRaw = entry.ts !== undefined ? entry.ts : entry.timestamp;
  const stamped = tsRaw === undefined;
  const ts = stamped ? now : parseTimestamp(tsRaw, now);
  if ('values' in entry) {
    if (!isPlainObject(entry.values)) throw new IngestRejection('invalid_payload', '"values" must be an object');
    for (const key in entry.values) pushValue(points, key, entry.values[key], ts, stamped);
    return;
  }
  for (const key in entry) {
    if (RESERVED_TELEMETRY_KEYS.has(key)) continue;
    pushValue(points, key, entry[key], ts, stamped);
  }
}

/** `{"k":v}`, `{"ts":…,"values":{…}}`, or an array of those. */
export function decodeTelemetry(body: unknown, now: number, identity: EmbeddedIdentity): IngestPoint[] {
  const points: IngestPoint[] = [];
  if (Array.isArray(body)) {
    for (const entry of body) telemetryEntry(entry, now, points, identity);
  } else {
    telemetryEntry(body, now, points, identity);
  }
  if (points.length === 0) throw new IngestRejection('invalid_payload', 'telemetry carries no values');
  if (points.length > MAX_POINTS_PER_MESSAGE) throw new IngestRejection('invalid_payload', `at most ${MAX_POINTS_PER_MESSAGE} points per message`);
  return points;
}

function firstError(check: { Errors(v: unknown): Iterable<{ instancePath: string; message: string }> }, v: unknown): string {
  for (const e of check.Errors(v)) return `${e.instancePath || 'payload'} ${e.message}`;
  return 'invalid payload';
}

/** The payload's own time, or the receive time (stamped). */
const optTs = (o: { ts?: unknown; timestamp?: unknown }, now: number) => {
  const raw = o.ts !== undefined ? o.ts : o.timestamp;
  return raw === undefined ? { ts: now, stamped: true } : { ts: parseTimestamp(raw, now), stamped: false };
};

/**
 * The id of an alert with an explicit time: a UUID made from a SHA-256 of
 * (device, type, time in µs), so a replay of it (a re-send after a lost
 * PUBACK, a store-and-forward upload sent twice) has the same id, and the
 * INSERT's ON CONFLICT (id) DO NOTHING keeps the first copy. The version
 * nibble says 8 (RFC 9562's custom/name-based, as SHA-256 is not v5's SHA-1)
 * and the variant bits are RFC's, so it is a valid UUID everywhere. A null
 * type is one type of its own, distinct from every string, "" included.
 *
 * An id rather than a unique index on (device, type, ts): the primary key
 * already arbitrates between concurrent writers and duplicates within one
 * INSERT, no migration is needed, and an alert stamped with its receive time
 * (random id) can never be taken for a replay even if an explicit alert
 * names the same time.
 */
export function alertId(deviceId: string, type: string | null, tsUs: number): string {
  const h = createHash('sha256')
    .update(`tether.alert\u0000${deviceId.toLowerCase()}\u0000${tsUs}\u0000${type === null ? 'n' : `s${type}`}`)
    .digest();
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.toString('hex', 0, 16);
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/**
 * An alert with an explicit time is idempotent on (device, type, ts): its id
 * is derived from those (alertId). One stamped with its receive time is new
 * by definition, so its id is random.
 */
export function decodeAlert(body: unknown, now: number, identity: EmbeddedIdentity, deviceId: string): DecodedAlert {
  if (!alertCheck.Check(body)) throw new IngestRejection('invalid_payload', firstError(alertCheck, body));
  takeIdentity(body, identity);
  const time = optTs(body, now);
  const type = body.type ?? null;
  const files = [...new Set([...(body.files ?? []), ...(body.file_list ?? [])])];
  if (files.length > MAX_ALERT_FILES) throw new IngestRejection('invalid_payload', `an alert names at most ${MAX_ALERT_FILES} files`);
  return {
    id: time.stamped ? randomUUID() : alertId(deviceId, type, time.ts),
    ...time,
    message: body.message,
    severity: body.severity ?? 'warning',
    type,
    data: body.data ?? {},
    files,
  };
}

export function decodeHeartbeat(body: unknown, now: number, identity: EmbeddedIdentity): DecodedHeartbeat {
  if (body === undefined) return { ts: now, stamped: true, uptime: null, battery: null, rssi: null, data: null };
  if (!heartbeatCheck.Check(body)) throw new IngestRejection('invalid_payload', firstError(heartbeatCheck, body));
  takeIdentity(body, identity);
  const { uptime, battery, rssi, ts: _ts, timestamp: _t, device_id: _d, jwt_token: _j, ...rest } = body;
  for (const [k, v] of Object.entries(rest)) {
    if (typeof v === 'number' && !Number.isFinite(v)) throw new IngestRejection('invalid_value', `${k}: number is not finite`);
  }
  return { ...optTs(body, now), uptime: uptime ?? null, battery: battery ?? null, rssi: rssi ?? null, data: Object.keys(rest).length ? rest : null };
}

export function decodeLocation(body: unknown, now: number, identity: EmbeddedIdentity): DecodedLocation {
  if (!locationCheck.Check(body)) throw new IngestRejection('invalid_payload', firstError(locationCheck, body));
  takeIdentity(body, identity);
  return {
    ...optTs(body, now),
    lat: body.lat,
    lon: body.lon,
    alt: body.alt ?? null,
    speed: body.speed ?? null,
    heading: body.heading ?? null,
    accuracy: body.accuracy ?? null,
  };
}

export function decodeAttributes(body: unknown, identity: EmbeddedIdentity): Record<string, unknown> {
  if (!isPlainObject(body)) throw new IngestRejection('invalid_payload', 'attributes must be a JSON object');
  takeIdentity(body, identity);
  // A null prototype keeps a "__proto__" key an ordinary attribute.
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  let n = 0;
  for (const key in body) {
    if (key === 'device_id' || key === 'jwt_token') continue;
    if (key.length === 0 || key.length > MAX_KEY_LENGTH)
      throw new IngestRejection('invalid_value', `attribute key must have 1 to ${MAX_KEY_LENGTH} characters`);
    const v = body[key];
    if (v === null || (typeof v === 'number' && !Number.isFinite(v))) throw new IngestRejection('invalid_value', `${key}: unsupported value`);
    out[key] = v;
    if (++n > 200) throw new IngestRejection('invalid_payload', 'at most 200 attributes per message');
  }
  if (n === 0) throw new IngestRejection('invalid_payload', 'attributes carry no values');
  return out;
}

export interface DecodedPayload {
  telemetry: IngestPoint[];
  alert: DecodedAlert | null;
  heartbeat: DecodedHeartbeat | null;
  location: DecodedLocation | null;
  attributes: Record<string, unknown> | null;
  identity: EmbeddedIdentity;
  /** The JSON text to keep in the message history, without credentials. */
  rawJson: string;
}

/**
 * Decodes one payload of an uplink channel. Throws IngestRejection with a precise reason.
 * `now` is the message's receive time, in microseconds (ReceiveClock); every time decoded is in microseconds.
 * `deviceId` is the authenticated device's (an explicit-time alert's id is derived from it).
 */
export function decodePayload(channel: UplinkChannel, payload: Buffer | string, now: number, maxBytes: number, deviceId: string): DecodedPayload {
  if (payload.length > maxBytes) throw new IngestRejection('too_large', `payload is larger than ${maxBytes} bytes`);
  // Decoded once: parsed here and kept as the message history's text.
  const text = typeof payload === 'string' ? payload : payload.toString('utf8');
  const body = parseJson(text);
  if (body === undefined && channel !== 'heartbeat') throw new IngestRejection('invalid_payload', `${channel} payload is empty`);
  const identity: EmbeddedIdentity = { deviceId: null, jwt: null };
  const out: DecodedPayload = { telemetry: [], alert: null, heartbeat: null, location: null, attributes: null, identity, rawJson: '' };
  switch (channel) {
    case 'telemetry':
      out.telemetry = decodeTelemetry(body, now, identity);
      break;
    case 'alerts':
      out.alert = decodeAlert(body, now, identity, deviceId);
      break;
    case 'heartbeat':
      out.heartbeat = decodeHeartbeat(body, now, identity);
      break;
    case 'location':
      out.location = decodeLocation(body, now, identity);
      break;
    case 'attributes':
      out.attributes = decodeAttributes(body, identity);
      break;
  }
  out.rawJson = body === undefined ? '{}' : identity.jwt !== null ? JSON.stringify(body, (k, v) => (k === 'jwt_token' ? undefined : v)) : text;
  return out;
}
