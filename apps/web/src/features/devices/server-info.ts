/** GET /api/v1/server-info (public): where devices reach this server. */
import type { ServerInfo, TetherClient } from '@tether/api-client';

export type { ServerInfo };

export const getServerInfo = (client: TetherClient) => client.serverInfo();
