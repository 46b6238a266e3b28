/** MQTT topic contract between devices and Tether (architecture §4). */

export const DEVICE_UPLINK_CHANNELS = ['telemetry', 'alerts', 'heartbeat', 'location', 'attributes'] as const;
export type UplinkChannel = (typeof DEVICE_UPLINK_CHANNELS)[number];

export const deviceTopic = {
  telemetry: (deviceId: string) => `devices/${deviceId}/telemetry`,
  alerts: (deviceId: string) => `devices/${deviceId}/alerts`,
  heartbeat: (deviceId: string) => `devices/${deviceId}/heartbeat`,
  location: (deviceId: string) => `devices/${deviceId}/location`,
  attributes: (deviceId: string) => `devices/${deviceId}/attributes`,
  config: (deviceId: string) => `devices/${deviceId}/config`,
  command: (deviceId: string, commandId: string) => `devices/${deviceId}/commands/${commandId}`,
  commandResult: (deviceId: string, commandId: string) => `devices/${deviceId}/commands/${commandId}/result`,
  ota: (deviceId: string) => `devices/${deviceId}/ota`,
  otaStatus: (deviceId: string) => `devices/${deviceId}/ota/status`,
} as const;

/** ThingsBoard-compatible device topics (README, Device protocol): identity comes from the connection, not the topic. */
export const thingsboardTopic = {
  telemetry: 'v1/devices/me/telemetry',
  attributes: 'v1/devices/me/attributes',
  rpcRequestPrefix: 'v1/devices/me/rpc/request/',
  rpcResponsePrefix: 'v1/devices/me/rpc/response/',
  attributesRequestPrefix: 'v1/devices/me/attributes/request/',
  attributesResponsePrefix: 'v1/devices/me/attributes/response/',
  gatewayConnect: 'v1/gateway/connect',
  gatewayDisconnect: 'v1/gateway/disconnect',
  gatewayTelemetry: 'v1/gateway/telemetry',
  gatewayAttributes: 'v1/gateway/attributes',
  gatewayRpc: 'v1/gateway/rpc',
} as const;

/** The ThingsBoard topic filters a device may subscribe to (and all it receives on them is its own). */
export const THINGSBOARD_SUBSCRIPTIONS = [
  'v1/devices/me/rpc/request/+',
  'v1/devices/me/rpc/response/+',
  'v1/devices/me/attributes',
  'v1/devices/me/attributes/response/+',
  'v1/gateway/rpc',
  'v1/gateway/attributes',
] as const;

export interface ParsedDeviceTopic {
  deviceId: string;
  /** Everything after `devices/{id}/`, e.g. `telemetry` or `commands/abc/result`. */
  path: string;
  /** Set when the path is one of the uplink data channels. */
  channel: UplinkChannel | null;
}

/** Parses `devices/{id}/…`; returns null for any other topic. */
export function parseDeviceTopic(topic: string): ParsedDeviceTopic | null {
  if (!topic.startsWith('devices/')) return null;
  const slash = topic.indexOf('/', 8);
  if (slash < 0) return null;
  const deviceId = topic.slice(8, slash);
  const path = topic.slice(slash + 1);
  if (deviceId.length === 0 || path.length === 0) return null;
  const channel = (DEVICE_UPLINK_CHANNELS as readonly string[]).includes(path) ? (path as UplinkChannel) : null;
  return { deviceId, path, channel };
}
