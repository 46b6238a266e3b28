/** Copy-paste commands shown when a device is created or its token rotated. */

/** MQTT's registered port: the guess when the server cannot be asked. */
export const DEFAULT_MQTT_PORT = 1883;

export interface ExampleTarget {
  deviceId: string;
  token: string;
  /** Where the server's HTTP API is, e.g. http://tether.local:8080. */
  origin: string;
  mqttHost: string;
  mqttPort?: number;
}

const shellQuote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export function mosquittoPubExample(t: ExampleTarget, payload = '{"temperature":21.5}'): string {
  return [
    `mosquitto_pub -h ${shellQuote(t.mqttHost)} -p ${t.mqttPort ?? DEFAULT_MQTT_PORT} -q 1 \\`,
    `  -u ${shellQuote(t.deviceId)} -P ${shellQuote(t.token)} \\`,
    `  -t ${shellQuote(`devices/${t.deviceId}/telemetry`)} -m ${shellQuote(payload)}`,
  ].join('\n');
}

export function curlExample(t: ExampleTarget, payload = '{"temperature":21.5}'): string {
  return [
    `curl -X POST ${shellQuote(`${t.origin}/api/v1/device/telemetry`)} \\`,
    `  -H ${shellQuote(`authorization: Bearer ${t.token}`)} \\`,
    `  -H 'content-type: application/json' -d ${shellQuote(payload)}`,
  ].join('\n');
}

/**
 * The server's public URL (TETHER_PUBLIC_URL) names the host devices use; without
 * one, where the browser reached the dashboard is the best guess. The MQTT port
 * is the one the server reports (GET /api/v1/server-info), else the default.
 */
export function exampleTarget(
  deviceId: string,
  token: string,
  server: { publicUrl: string | null; mqttPort: number | null } | null,
  loc: Pick<Location, 'origin' | 'hostname'> = window.location,
): ExampleTarget {
  const pub = server?.publicUrl ? new URL(server.publicUrl) : null;
  return {
    deviceId,
    token,
    origin: pub ? pub.origin : loc.origin,
    mqttHost: pub ? pub.hostname : loc.hostname,
    mqttPort: server?.mqttPort ?? DEFAULT_MQTT_PORT,
  };
}
