import type { TetherClient } from '@tether/api-client';

export interface FleetOverview {
  devices: { total: number; online: number; offline: number; active: number; inactive: number; neverSeen: number };
  alerts24h: { total: number; critical: number };
  messagesPerMinute: { minute: string; count: number }[];
  recentlySilent: { id: string; name: string; lastSeenAt: string }[];
}

export const fetchFleetOverview = (client: TetherClient, projectId?: string) =>
  client.request<FleetOverview>('GET', '/api/v1/fleet/overview', undefined, { projectId });
