import { Type } from 'typebox';
import type { App } from '../../platform/http/server.js';
import { actorOf } from '../../platform/http/auth.js';
import type { TemplatesService } from './templates.service.js';

const TelemetryKey = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 128 }),
  unit: Type.Optional(Type.String({ maxLength: 32 })),
  type: Type.Optional(Type.Union([Type.Literal('number'), Type.Literal('string'), Type.Literal('boolean'), Type.Literal('json')])),
  min: Type.Optional(Type.Number()),
  max: Type.Optional(Type.Number()),
});
const CommandSpec = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 128 }),
  description: Type.Optional(Type.String({ maxLength: 2000 })),
  params: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'JSON Schema of the params' })),
});
const Body = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  description: Type.Optional(Type.String({ maxLength: 4000 })),
  telemetry: Type.Optional(Type.Array(TelemetryKey, { maxItems: 500 })),
  commands: Type.Optional(Type.Array(CommandSpec, { maxItems: 200 })),
};

/** Registered inside an authenticated scope. */
export function templatesRoutes(templates: TemplatesService) {
  return async (app: App) => {
    app.get('/api/v1/templates', { schema: { tags: ['templates'] } }, async (req) => ({ items: await templates.list(actorOf(req)) }));
    app.post('/api/v1/templates', { schema: { tags: ['templates'], body: Type.Object(Body) } }, async (req, reply) => reply.status(201).send(await templates.create(actorOf(req), req.body)));
    app.get('/api/v1/templates/:id', { schema: { tags: ['templates'], params: Type.Object({ id: Type.String() }) } }, (req) => templates.get(actorOf(req), req.params.id));
    app.patch('/api/v1/templates/:id', { schema: { tags: ['templates'], params: Type.Object({ id: Type.String() }), body: Type.Partial(Type.Object(Body)) } }, (req) =>
      templates.update(actorOf(req), req.params.id, req.body),
    );
    app.delete('/api/v1/templates/:id', { schema: { tags: ['templates'], params: Type.Object({ id: Type.String() }) } }, async (req, reply) => {
      await templates.delete(actorOf(req), req.params.id);
      return reply.status(204).send();
    });
  };
}
