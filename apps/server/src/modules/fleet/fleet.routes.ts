import { Type } from 'typebox';
import type { App } from '../../platform/http/server.js';
import { actorOf } from '../accounts/request-actor.js';
import { assertUuid } from '../errors.js';
import { FleetOverview } from './fleet.schemas.js';
import type { FleetService } from './fleet.service.js';
import type { ProjectsService } from '../projects/projects.service.js';

/** Registered inside an authenticated scope. */
export function fleetRoutes(fleet: FleetService, projects: ProjectsService) {
  return async (app: App) => {
    app.get(
      '/api/v1/fleet/overview',
      {
        schema: {
          tags: ['fleet'],
          description: 'Counts online/offline/inactive, alerts in the last 24 h, messages per minute, recently silent devices.',
          querystring: Type.Object({ projectId: Type.Optional(Type.String()) }),
          response: { 200: FleetOverview },
        },
      },
      async (req) => {
        const actor = actorOf(req);
        const projectId = req.query.projectId ? await projects.assertInOrg(actor, assertUuid(req.query.projectId, 'projectId')) : undefined;
        return fleet.overview(actor, projectId);
      },
    );
  };
}
