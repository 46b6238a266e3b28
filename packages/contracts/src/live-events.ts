/** The live WebSocket contract (`/api/v1/live`, architecture §5). */

export const LIVE_CHANNELS = ['telemetry', 'locations', 'alerts', 'status', 'commands', 'ota', 'alarms'] as const;
export type LiveChannel = (typeof LIVE_CHANNELS)[number];

export interface LiveSubscribeMessage {
  type: 'subscribe';
  /** Device ids to follow; or `project` to follow every device of a project. */
  devices?: string[];
  project?: string;
  channels?: LiveChannel[];
  /** Echoed back in the `subscribed` reply. */
  id?: string;
}
export interface LiveUnsubscribeMessage {
  type: 'unsubscribe';
  id: string;
}
export type LiveClientMessage = LiveSubscribeMessage | LiveUnsubscribeMessage | { type: 'ping' };

export interface LiveTelemetryEvent {
  type: 'telemetry';
  deviceId: string;
  projectId: string | null;
  points: { key: string; ts: string; value: unknown }[];
}
export interface LiveAlertEvent {
  type: 'alert';
  deviceId: string;
  projectId: string | null;
  /** `files`: the names of the files the device said it uploads for the alert (they attach as they arrive; GET /api/v1/alerts/{id}). */
  alert: { id: string; ts: string; message: string; severity: string; type: string | null; data: unknown; files: string[] };
}
export interface LiveStatusEvent {
  type: 'status';
  deviceId: string;
  projectId: string | null;
  online: boolean;
  lastSeenAt: string | null;
}
/** A device reported a position (channel `locations`): the device page's track and the fleet map follow it. */
export interface LiveLocationEvent {
  type: 'location';
  deviceId: string;
  projectId: string | null;
  location: { ts: string; lat: number; lon: number; alt: number | null; speed: number | null; heading: number | null };
}

export interface LiveCommandEvent {
  type: 'command';
  deviceId: string;
  projectId: string | null;
  command: { id: string; name: string; status: string; result: unknown; error: string | null; updatedAt: string };
}

/** An alarm was raised, cleared, acknowledged, assigned or commented: read it (or the list) again. */
export interface LiveAlarmEvent {
  type: 'alarm';
  deviceId: string;
  projectId: string | null;
  alarm: { id: string; ruleId: string | null; open: boolean };
}

/** A device's OTA job moved (issue 14). */
export interface LiveOtaEvent {
  type: 'ota';
  deviceId: string;
  projectId: string | null;
  ota: { deploymentId: string; state: string; progress: number | null; error: string | null; at: string };
}

export type LiveDeviceEvent = LiveTelemetryEvent | LiveAlertEvent | LiveStatusEvent | LiveLocationEvent | LiveCommandEvent | LiveAlarmEvent | LiveOtaEvent;

/** Which subscription channel carries each event type. */
export const LIVE_EVENT_CHANNEL: Record<LiveDeviceEvent['type'], LiveChannel> = {
  telemetry: 'telemetry',
  location: 'locations',
  alert: 'alerts',
  status: 'status',
  command: 'commands',
  alarm: 'alarms',
  ota: 'ota',
};

export type LiveServerMessage =
  | LiveDeviceEvent
  | { type: 'ready'; userId: string; orgId: string }
  | { type: 'subscribed'; id: string; devices: string[] | null; project: string | null; channels: LiveChannel[] }
  | { type: 'error'; code: string; message: string }
  | { type: 'pong' };
