import { Type } from 'typebox';
import type { App } from '../../platform/http/server.js';
import { NoContent } from '../../platform/http/schemas.js';
import { actorOf } from '../accounts/request-actor.js';
import {
  CreatedNotificationTarget,
  NotificationDelivery,
  NotificationDeliveryPage,
  NotificationTarget,
  NotificationTargetInput,
  NotificationTargetList,
} from './notifications.schemas.js';
import type { NotificationsService } from './notifications.service.js';

const IdParam = Type.Object({ id: Type.String() });

/** Notification targets and the delivery log (issue 13). Registered inside an authenticated scope. */
export function notificationsRoutes(notifications: NotificationsService) {
  return async (app: App) => {
    const tags = ['notifications'];
    app.get('/api/v1/notification-targets', { schema: { tags, response: { 200: NotificationTargetList } } }, (req) => notifications.list(actorOf(req)));
    app.post(
      '/api/v1/notification-targets',
      {
        schema: {
          tags,
          description:
            'A webhook (POST of a JSON body signed with HMAC-SHA256: X-Tether-Timestamp and X-Tether-Signature = sha256=hex(HMAC(secret, timestamp + "." + body))) or e-mail recipients. 400 TARGET_INVALID (not http(s), or this server itself), SMTP_NOT_CONFIGURED.',
          body: NotificationTargetInput,
          response: { 201: CreatedNotificationTarget },
        },
      },
      async (req, reply) => reply.status(201).send(await notifications.create(actorOf(req), req.body)),
    );
    app.get('/api/v1/notification-targets/:id', { schema: { tags, params: IdParam, response: { 200: NotificationTarget } } }, (req) =>
      notifications.get(actorOf(req), req.params.id),
    );
    app.put(
      '/api/v1/notification-targets/:id',
      { schema: { tags, params: IdParam, body: NotificationTargetInput, response: { 200: NotificationTarget } } },
      (req) => notifications.update(actorOf(req), req.params.id, req.body),
    );
    app.delete('/api/v1/notification-targets/:id', { schema: { tags, params: IdParam, response: { 204: NoContent } } }, async (req, reply) => {
      await notifications.delete(actorOf(req), req.params.id);
      return reply.status(204).send(null);
    });
    app.post(
      '/api/v1/notification-targets/:id/test',
      {
        schema: {
          tags,
          params: IdParam,
          description: 'Sends a test notification; see the delivery log for how it went',
          response: { 202: NotificationDelivery },
        },
      },
      async (req, reply) => reply.status(202).send(await notifications.test(actorOf(req), req.params.id)),
    );
    app.get(
      '/api/v1/notification-deliveries',
      {
        schema: {
          tags,
          querystring: Type.Object({
            targetId: Type.Optional(Type.String()),
            alarmId: Type.Optional(Type.String()),
            status: Type.Optional(Type.String({ description: 'pending, delivered or failed' })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
            offset: Type.Optional(Type.Integer({ minimum: 0 })),
          }),
          response: { 200: NotificationDeliveryPage },
        },
      },
      (req) => notifications.deliveries(actorOf(req), req.query),
    );
    app.post(
      '/api/v1/notification-deliveries/:id/replay',
      { schema: { tags, params: IdParam, description: 'Sends a delivery again, with fresh retries', response: { 202: NotificationDelivery } } },
      async (req, reply) => reply.status(202).send(await notifications.replay(actorOf(req), req.params.id)),
    );
  };
}
