import { Type } from 'typebox';
import type { App } from '../../platform/http/server.js';
import { actorOf } from '../accounts/request-actor.js';
import { NoContent } from '../../platform/http/schemas.js';
import { EntityKind, Note, NoteList, PropertyList, PropertyMatchList, PropertyWritten } from './metadata.schemas.js';
import type { MetadataService } from './metadata.service.js';

/** Registered inside an authenticated scope. */
export function metadataRoutes(metadata: MetadataService) {
  return async (app: App) => {
    for (const [kind, base] of [
      ['device', '/api/v1/devices/:id'],
      ['project', '/api/v1/projects/:id'],
    ] as [EntityKind, string][]) {
      const Id = Type.Object({ id: Type.String() });
      const IdName = Type.Object({ id: Type.String(), name: Type.String() });
      app.get(`${base}/properties`, { schema: { tags: ['metadata'], params: Id, response: { 200: PropertyList } } }, (req) =>
        metadata.properties(actorOf(req), kind, req.params.id),
      );
      app.put(
        `${base}/properties/:name`,
        { schema: { tags: ['metadata'], params: IdName, body: Type.Object({ value: Type.String({ maxLength: 4096 }) }), response: { 200: PropertyWritten } } },
        (req) => metadata.setProperty(actorOf(req), kind, req.params.id, req.params.name, req.body.value),
      );
      app.delete(`${base}/properties/:name`, { schema: { tags: ['metadata'], params: IdName, response: { 204: NoContent } } }, async (req, reply) => {
        await metadata.deleteProperty(actorOf(req), kind, req.params.id, req.params.name);
        return reply.status(204).send(null);
      });
      app.get(
        `${base}/notes`,
        {
          schema: {
            tags: ['metadata'],
            params: Id,
            querystring: Type.Object({ streamKey: Type.Optional(Type.String()), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }),
            response: { 200: NoteList },
          },
        },
        (req) => metadata.notes(actorOf(req), kind, req.params.id, req.query),
      );
      app.post(
        `${base}/notes`,
        {
          schema: {
            tags: ['metadata'],
            params: Id,
            body: Type.Object({ body: Type.String({ minLength: 1, maxLength: 20_000 }), streamKey: Type.Optional(Type.String({ maxLength: 128 })) }),
            response: { 201: Note },
          },
        },
        async (req, reply) => reply.status(201).send(await metadata.addNote(actorOf(req), kind, req.params.id, req.body)),
      );
    }
    app.delete(
      '/api/v1/notes/:id',
      { schema: { tags: ['metadata'], params: Type.Object({ id: Type.String() }), response: { 204: NoContent } } },
      async (req, reply) => {
        await metadata.deleteNote(actorOf(req), req.params.id);
        return reply.status(204).send(null);
      },
    );
    app.get(
      '/api/v1/properties',
      {
        schema: {
          tags: ['metadata'],
          description: 'Search properties by name and value (a trailing * matches a prefix).',
          querystring: Type.Object({
            name: Type.Optional(Type.String()),
            value: Type.Optional(Type.String()),
            kind: Type.Optional(EntityKind),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
          }),
          response: { 200: PropertyMatchList },
        },
      },
      (req) => metadata.searchProperties(actorOf(req), req.query),
    );
  };
}
