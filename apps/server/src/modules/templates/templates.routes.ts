import { Type } from 'typebox';
import type { App } from '../../platform/http/server.js';
import { actorOf } from '../accounts/request-actor.js';
import { NoContent } from '../../platform/http/schemas.js';
import { CommandSpec, DeviceTemplate, DeviceTemplateList, TelemetryKeySpec } from './templates.schemas.js';
import type { TemplatesService } from './templates.service.js';

const Body = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  description: Type.Optional(Type.String({ maxLength: 4000 })),
  telemetry: Type.Optional(Type.Array(TelemetryKeySpec, { maxItems: 500 })),
  commands: Type.Optional(Type.Array(CommandSpec, { maxItems: 200 })),
};

/** Registered inside an authenticated scope. */
export function templatesRoutes(templates: TemplatesService) {
  return async (app: App) => {
    app.get('/api/v1/templates', { schema: { tags: ['templates'], response: { 200: DeviceTemplateList } } }, async (req) => ({
      items: await templates.list(actorOf(req)),
    }));
    app.post('/api/v1/templates', { schema: { tags: ['templates'], body: Type.Object(Body), response: { 201: DeviceTemplate } } }, async (req, reply) =>
      reply.status(201).send(await templates.create(actorOf(req), req.body)),
    );
    app.get(
      '/api/v1/templates/:id',
      { schema: { tags: ['templates'], params: Type.Object({ id: Type.String() }), response: { 200: DeviceTemplate } } },
      (req) => templates.get(actorOf(req), req.params.id),
    );
    app.patch(
      '/api/v1/templates/:id',
      { schema: { tags: ['templates'], params: Type.Object({ id: Type.String() }), body: Type.Partial(Type.Object(Body)), response: { 200: DeviceTemplate } } },
      (req) => templates.update(actorOf(req), req.params.id, req.body),
    );
    app.delete(
      '/api/v1/templates/:id',
      { schema: { tags: ['templates'], params: Type.Object({ id: Type.String() }), response: { 204: NoContent } } },
      async (req, reply) => {
        await templates.delete(actorOf(req), req.params.id);
        return reply.status(204).send(null);
      },
    );
  };
}
