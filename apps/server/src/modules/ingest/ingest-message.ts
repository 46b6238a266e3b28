import type { AlertSeverity, TelemetryPoint, UplinkChannel } from '@tether/contracts';
import type { DeviceIdentity } from '../devices/devices.repository.js';

export type Transport = 'mqtt' | 'http' | 'ws';

/**
 * Times are microseconds since the epoch. `stamped` says the time is the
 * receive time (the payload had no `ts`): such a time belongs to this one
 * message, and a collision moves it rather than merging it as a replay.
 */
export interface IngestPoint extends TelemetryPoint {
  stamped: boolean;
}

export interface DecodedAlert {
  /**
   * The events row's id. With an explicit `ts` it is derived from (device,
   * type, ts) (decode.ts, alertId), so a replay has the same id and is stored
   * once; stamped (no `ts`), it is random and the alert always a new row.
   */
  id: string;
  ts: number;
  stamped: boolean;
  message: string;
  severity: AlertSeverity;
  /** Set once written: a replay of an alert already stored (not stored again). */
  replay?: boolean;
  type: string | null;
  data: Record<string, unknown>;
  /** The files the device will upload for it (names in its folder); deduplicated. */
  files: string[];
}
export interface DecodedHeartbeat {
  ts: number;
  stamped: boolean;
  uptime: number | null;
  battery: number | null;
  rssi: number | null;
  data: Record<string, unknown> | null;
}
export interface DecodedLocation {
  ts: number;
  stamped: boolean;
  lat: number;
  lon: number;
  alt: number | null;
  speed: number | null;
  heading: number | null;
  accuracy: number | null;
}

/** One accepted device message, normalized and ready to be written. */
export interface IngestMessage {
  device: DeviceIdentity;
  channel: UplinkChannel;
  transport: Transport;
  /** Microseconds since the epoch, unique per device (ReceiveClock). */
  receivedAt: number;
  /** The payload as JSON text, with credentials removed, for the raw message history. */
  rawJson: string;
  telemetry: IngestPoint[];
  alert: DecodedAlert | null;
  heartbeat: DecodedHeartbeat | null;
  location: DecodedLocation | null;
  attributes: Record<string, unknown> | null;
}

/** Why a message was refused; maps to a metrics label and an HTTP error or an MQTT disconnect. */
export type RejectReason =
  'malformed_json' | 'invalid_payload' | 'invalid_value' | 'invalid_timestamp' | 'too_large' | 'identity_mismatch' | 'unknown_topic' | 'not_authorized';

export class IngestRejection extends Error {
  constructor(
    readonly reason: RejectReason,
    message: string,
  ) {
    super(message);
    this.name = 'IngestRejection';
  }
}
