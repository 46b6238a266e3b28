/**
 * Device payload schemas (architecture §4). One source for runtime validation,
 * TypeScript types and the OpenAPI document.
 */
import { Type, type Static } from 'typebox';

export const ALERT_SEVERITIES = ['critical', 'major', 'minor', 'warning', 'info'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

/** Milliseconds since the epoch, an ISO 8601 string, or seed 000's `2023-03-29 13:15:56.811550` (UTC). */
export const Timestamp = Type.Union([Type.Number(), Type.String({ maxLength: 40 })], {
  description: 'ms since epoch, ISO 8601, or "YYYY-MM-DD HH:MM:SS[.ffffff]" (UTC)',
});

export const TelemetryValue = Type.Union([Type.Number(), Type.String(), Type.Boolean(), Type.Object({}), Type.Array(Type.Unknown())]);

/** `{"temperature":21.5}` or `{"ts":…,"values":{…}}`, or an array of either. */
export const TelemetryPayload = Type.Union([
  Type.Record(Type.String(), Type.Unknown()),
  Type.Array(Type.Record(Type.String(), Type.Unknown()), { maxItems: 10_000 }),
]);

/**
 * A device file's name: one level under the device's folder (`<device>/<name>`, seed 003), so no
 * slash, no `..`, and it starts with a letter or digit.
 */
export const FILE_NAME_PATTERN = '^(?!.*\\.\\.)[A-Za-z0-9][A-Za-z0-9._-]{0,199}$';
export const FileName = Type.String({ pattern: FILE_NAME_PATTERN, description: 'a file name: letters, digits, ".", "_", "-"; no "/" or ".."' });
/** The files an alert names (it uploads them next): at most this many. */
export const MAX_ALERT_FILES = 20;
const AlertFiles = Type.Array(FileName, { maxItems: MAX_ALERT_FILES, description: 'names of the files the device uploads for this alert' });

export const AlertPayload = Type.Object(
  {
    message: Type.String({ minLength: 1, maxLength: 2048 }),
    severity: Type.Optional(Type.Enum(ALERT_SEVERITIES)),
    type: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    data: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    files: Type.Optional(AlertFiles),
    /** Seed 003's name for `files`. */
    file_list: Type.Optional(AlertFiles),
    ts: Type.Optional(Timestamp),
    timestamp: Type.Optional(Timestamp),
    device_id: Type.Optional(Type.String()),
    jwt_token: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type AlertPayload = Static<typeof AlertPayload>;

export const HeartbeatPayload = Type.Object(
  {
    uptime: Type.Optional(Type.Number({ minimum: 0 })),
    battery: Type.Optional(Type.Number()),
    rssi: Type.Optional(Type.Number()),
    ts: Type.Optional(Timestamp),
    timestamp: Type.Optional(Timestamp),
    device_id: Type.Optional(Type.String()),
    jwt_token: Type.Optional(Type.String()),
  },
  { additionalProperties: Type.Union([Type.Number(), Type.String(), Type.Boolean()]) },
);
export type HeartbeatPayload = Static<typeof HeartbeatPayload>;

export const LocationPayload = Type.Object(
  {
    lat: Type.Number({ minimum: -90, maximum: 90 }),
    lon: Type.Number({ minimum: -180, maximum: 180 }),
    alt: Type.Optional(Type.Number()),
    speed: Type.Optional(Type.Number({ minimum: 0 })),
    heading: Type.Optional(Type.Number({ minimum: 0, maximum: 360 })),
    accuracy: Type.Optional(Type.Number({ minimum: 0 })),
    ts: Type.Optional(Timestamp),
    timestamp: Type.Optional(Timestamp),
    device_id: Type.Optional(Type.String()),
    jwt_token: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type LocationPayload = Static<typeof LocationPayload>;

export const AttributesPayload = Type.Record(Type.String({ minLength: 1, maxLength: 128 }), Type.Unknown(), { maxProperties: 200 });
export type AttributesPayload = Static<typeof AttributesPayload>;

/** A decoded telemetry point, as ingest stores it. */
export type TelemetryValueType = 'num' | 'str' | 'bool' | 'json';
export interface TelemetryPoint {
  key: string;
  ts: number;
  type: TelemetryValueType;
  value: number | string | boolean | unknown;
}

/** `devices/{id}/commands/{commandId}/result` (device → Tether). */
export const CommandResultPayload = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('error')]),
  result: Type.Optional(Type.Unknown()),
  error: Type.Optional(Type.String({ maxLength: 2048 })),
});
export type CommandResultPayload = Static<typeof CommandResultPayload>;

/** `devices/{id}/commands/{commandId}` (Tether → device). */
export interface CommandMessage {
  id: string;
  name: string;
  params: Record<string, unknown>;
  expiresAt: string;
}

/**
 * A command's life: queued → sent → delivered → succeeded | failed, or it ends
 * expired (not delivered before expiresAt), timed-out (no PUBACK after its
 * last attempt, or no result within timeoutMs of delivery) or cancelled.
 */
export const COMMAND_STATUSES = ['queued', 'sent', 'delivered', 'succeeded', 'failed', 'expired', 'timed-out', 'cancelled'] as const;
export type CommandStatus = (typeof COMMAND_STATUSES)[number];
export const FINAL_COMMAND_STATUSES: readonly CommandStatus[] = ['succeeded', 'failed', 'expired', 'timed-out', 'cancelled'];
export const isFinalCommandStatus = (s: string): boolean => (FINAL_COMMAND_STATUSES as readonly string[]).includes(s);

/**
 * An OTA job's life on one device (issue 14): pending → notified → downloading →
 * downloaded → installing → installed | failed, or timed-out (no new version
 * within the deployment's deadline) or cancelled (the deployment ended before
 * the device was told). Installed is confirmed only by the device reporting the
 * new version (seed 004).
 */
export const OTA_JOB_STATES = ['pending', 'notified', 'downloading', 'downloaded', 'installing', 'installed', 'failed', 'timed-out', 'cancelled'] as const;
export type OtaJobState = (typeof OTA_JOB_STATES)[number];
export const OPEN_OTA_JOB_STATES: readonly OtaJobState[] = ['pending', 'notified', 'downloading', 'downloaded', 'installing'];

/** The states a device reports. */
export const OTA_REPORT_STATES = ['downloading', 'downloaded', 'installing', 'installed', 'failed'] as const;
export type OtaReportState = (typeof OTA_REPORT_STATES)[number];

/** `devices/{id}/ota/status` (device → Tether), and POST /api/v1/device/ota/status. */
export const OtaStatusPayload = Type.Object(
  {
    deploymentId: Type.String({ minLength: 1, maxLength: 64 }),
    state: Type.Enum(OTA_REPORT_STATES),
    progress: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, description: 'Percent downloaded (downloading)' })),
    error: Type.Optional(Type.String({ maxLength: 2048 })),
    version: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'The version now running: required with installed' })),
  },
  { additionalProperties: false },
);
export type OtaStatusPayload = Static<typeof OtaStatusPayload>;

/** `devices/{id}/ota` (Tether → device), and GET /api/v1/device/ota. */
export interface OtaJobMessage {
  deploymentId: string;
  firmwareId: string;
  version: string;
  /** Downloads the artifact without the device's token (HTTP Range supported) until urlExpiresAt. */
  url: string;
  urlExpiresAt: string;
  size: number;
  sha256: string;
}
