import { DEVICE_UPLINK_CHANNELS } from '@tether/contracts';
import { Type, type Static } from 'typebox';
import { AnyJson, JsonObject, Timestamp, Uuid, titled } from '../../platform/http/schemas.js';
import { AGGREGATES } from './telemetry.service.js';

export const LatestValue = Type.Object({
  ts: Timestamp,
  value: Type.Unknown({ description: 'A number, string, boolean or JSON value, as the device sent it' }),
});

export const LatestTelemetry = Type.Object({
  deviceId: Uuid,
  values: Type.Record(Type.String(), LatestValue, { description: 'The latest value of every telemetry key the device has sent, by key' }),
});
export type LatestTelemetry = Static<typeof LatestTelemetry>;

export const TelemetryPoint = Type.Object({
  ts: Type.String({ format: 'date-time', description: "The point's time; aggregated, its bucket's start" }),
  value: Type.Unknown({
    description:
      'Raw: the value as sent (number, string, boolean or JSON). Aggregated: a number, or null when the bucket has no numeric values; ' +
      'with agg=last the last value, a number or else as text',
  }),
});
export type TelemetryPoint = Static<typeof TelemetryPoint>;

/**
 * The query of a history read: a device's keys (`GET /devices/{id}/telemetry`) and a stream alias
 * (`GET /aliases/{id}/telemetry`) take this same object.
 */
export const TelemetryHistoryQuery = Type.Object({
  from: Type.Optional(Type.String({ description: 'ISO 8601 or ms since epoch; default: an hour before `to`' })),
  to: Type.Optional(Type.String({ description: 'ISO 8601 or ms since epoch; default: now' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: 'Raw points: at most this many per key (default 10,000)' })),
  before: Type.Optional(Type.String({ description: 'cursor from `truncated`: only raw points older than it' })),
  keys: Type.Optional(Type.String({ description: 'comma-separated keys; all keys when omitted (an alias has one, its name)' })),
  interval: Type.Optional(Type.String({ description: '30s, 5m, 1h, 1d or seconds' })),
  agg: Type.Optional(Type.Enum(AGGREGATES)),
});
export type TelemetryHistoryQuery = Static<typeof TelemetryHistoryQuery>;

/** One stretch of a stream alias's answer: the device key that fed it (alias reads only). */
export const HistorySource = Type.Object({
  deviceId: Uuid,
  key: Type.String(),
  from: Timestamp,
  to: Timestamp,
  toInclusive: Type.Boolean({
    description: 'true: the stretch ends at `to` included (the end of the range); false: just before `to` (the next tap starts there)',
  }),
});

export const TelemetryHistory = Type.Object({
  deviceId: Type.Union([Uuid, Type.Null()], { description: 'The device read; null for a stream alias (aliasId), which stitches several' }),
  aliasId: Type.Optional(Uuid),
  sources: Type.Optional(Type.Array(HistorySource, { description: 'Alias reads: which device key fed which part of the range, oldest first' })),
  from: Timestamp,
  to: Timestamp,
  interval: Type.Union([Type.Integer(), Type.Null()], { description: 'Bucket width in seconds; null: raw points' }),
  agg: Type.Union([Type.Enum(AGGREGATES), Type.Null()], { description: 'The aggregate per bucket; null: raw points' }),
  series: Type.Record(Type.String(), Type.Array(TelemetryPoint), { description: 'Points by key, oldest first; every requested key is present' }),
  truncated: Type.Optional(
    Type.Record(
      Type.String(),
      Type.Object({
        before: Type.String({ description: 'Cursor: ask again with before=<cursor> for the older points' }),
        limit: Type.Integer({ description: 'The number of points returned for the key' }),
      }),
      { description: 'Raw points only: the keys that had more than `limit` points in the range' },
    ),
  ),
});
export type TelemetryHistory = Static<typeof TelemetryHistory>;

/** A capped list says so, with the cursor for the rest: never a silent cut. */
export const HistoryCursor = Type.Union(
  [
    Type.Object({
      before: Type.String({ description: 'Cursor: ask again with before=<cursor> (same range) for the older items' }),
      limit: Type.Integer({ description: 'The number of items returned' }),
    }),
    Type.Null(),
  ],
  { description: 'Set when the range held more than `limit` items; null: this is all of it' },
);

export const Location = Type.Object({
  ts: Timestamp,
  lat: Type.Number(),
  lon: Type.Number(),
  alt: Type.Union([Type.Number(), Type.Null()], { description: 'Altitude; null: not reported (as speed, heading and accuracy)' }),
  speed: Type.Union([Type.Number(), Type.Null()]),
  heading: Type.Union([Type.Number(), Type.Null()], { description: 'Degrees, 0 to 360' }),
  accuracy: Type.Union([Type.Number(), Type.Null()]),
});
export const LocationHistory = Type.Object({
  deviceId: Uuid,
  items: Type.Array(Location, { description: 'The newest `limit` in the range (downsampled: buckets), oldest first' }),
  truncated: HistoryCursor,
  interval: Type.Union([Type.Integer(), Type.Null()], {
    description: 'Downsampled: the bucket width in seconds, each item the last position in its bucket; null: every position',
  }),
});
export type LocationHistory = Static<typeof LocationHistory>;

export const Heartbeat = Type.Object({
  ts: Timestamp,
  uptime: Type.Union([Type.Number(), Type.Null()], { description: 'As the device reported it; null: not reported (as battery and rssi)' }),
  battery: Type.Union([Type.Number(), Type.Null()]),
  rssi: Type.Union([Type.Number(), Type.Null()]),
  data: Type.Union([JsonObject, Type.Null()], { description: "The heartbeat's other fields; null: none" }),
});
export const HeartbeatHistory = Type.Object({ deviceId: Uuid, items: Type.Array(Heartbeat, { description: 'Newest first' }), truncated: HistoryCursor });
export type HeartbeatHistory = Static<typeof HeartbeatHistory>;

export const ReportedAttributes = Type.Object({
  deviceId: Uuid,
  reported: Type.Record(Type.String(), Type.Object({ value: AnyJson, updatedAt: Timestamp }), { description: 'The attributes the device reported, by key' }),
});
export type ReportedAttributes = Static<typeof ReportedAttributes>;

export const Transport = Type.Enum(['mqtt', 'http', 'ws']);

export const DeviceMessage = Type.Object({
  receivedAt: Timestamp,
  channel: Type.Enum(DEVICE_UPLINK_CHANNELS),
  transport: Transport,
  payload: Type.Unknown({ description: 'The JSON body as the device sent it, less any jwt_token; {} for an empty body' }),
});
export type DeviceMessage = Static<typeof DeviceMessage>;
export const MessageHistory = Type.Object({ deviceId: Uuid, items: Type.Array(DeviceMessage, { description: 'Newest first' }), truncated: HistoryCursor });
export type MessageHistory = Static<typeof MessageHistory>;

titled({
  LatestValue,
  LatestTelemetry,
  TelemetryPoint,
  TelemetryHistoryQuery,
  HistorySource,
  TelemetryHistory,
  HistoryCursor,
  Location,
  LocationHistory,
  Heartbeat,
  HeartbeatHistory,
  ReportedAttributes,
  Transport,
  DeviceMessage,
  MessageHistory,
});
