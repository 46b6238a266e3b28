import type { FleetOverview, TetherClient } from '@tether/api-client';

export type { FleetOverview };

export const fetchFleetOverview = (client: TetherClient, projectId?: string) => client.fleet.overview(projectId ? { projectId } : {});
