/** GET /api/v1/server-info (public): where devices reach this server. */
import type { TetherClient } from '@tether/api-client';

export interface ServerInfo {
  version: string;
  publicUrl: string | null;
  /** Null when this server runs no MQTT broker. */
  mqtt: { port: number; tlsPort: number | null; wsPath: string | null } | null;
}

export const getServerInfo = (client: TetherClient) => client.request<ServerInfo>('GET', '/api/v1/server-info');
