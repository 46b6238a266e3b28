import { Type } from 'typebox';
import type { App } from '../../platform/http/server.js';
import { actorOf } from '../accounts/request-actor.js';
import { AlertPage } from './alerts.schemas.js';
import type { AlertsService } from './alerts.service.js';

/** Registered inside an authenticated scope. */
export function alertsRoutes(alerts: AlertsService) {
  return async (app: App) => {
    app.get(
      '/api/v1/alerts',
      {
        schema: {
          tags: ['alerts'],
          querystring: Type.Object({
            deviceId: Type.Optional(Type.String()),
            projectId: Type.Optional(Type.String()),
            type: Type.Optional(Type.String()),
            severity: Type.Optional(Type.String({ description: 'one or more of critical, major, minor, warning, info, comma-separated' })),
            from: Type.Optional(Type.String()),
            to: Type.Optional(Type.String()),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
            offset: Type.Optional(Type.Integer({ minimum: 0 })),
          }),
          response: { 200: AlertPage },
        },
      },
      (req) => alerts.list(actorOf(req), req.query),
    );
  };
}
