import { Type } from 'typebox';
import type { App } from '../../platform/http/server.js';
import { actorOf } from '../accounts/request-actor.js';
import { AlertDetail, AlertPage, AlertQuery } from './alerts.schemas.js';
import type { AlertsService } from './alerts.service.js';

/** Registered inside an authenticated scope. */
export function alertsRoutes(alerts: AlertsService) {
  return async (app: App) => {
    app.get(
      '/api/v1/alerts',
      {
        schema: {
          tags: ['alerts'],
          querystring: AlertQuery,
          response: { 200: AlertPage },
        },
      },
      (req) => alerts.list(actorOf(req), req.query),
    );
    app.get(
      '/api/v1/alerts/:id',
      {
        schema: {
          tags: ['alerts'],
          params: Type.Object({ id: Type.String() }),
          description: 'One alert, with the files it names: each with its upload state, type and a signed url to play or show it. 404 ALERT_NOT_FOUND.',
          response: { 200: AlertDetail },
        },
      },
      (req) => alerts.get(actorOf(req), req.params.id),
    );
  };
}
