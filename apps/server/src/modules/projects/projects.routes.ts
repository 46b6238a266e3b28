import { Type } from 'typebox';
import type { App } from '../../platform/http/server.js';
import { actorOf } from '../accounts/request-actor.js';
import { NoContent, SearchText } from '../../platform/http/schemas.js';
import { Project, ProjectPage } from './projects.schemas.js';
import type { ProjectsService } from './projects.service.js';

const IdParam = Type.Object({ id: Type.String() });
const Timeout = Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 31 * 86400 }), Type.Null()]));

/** Registered inside an authenticated scope. */
export function projectsRoutes(projects: ProjectsService) {
  return async (app: App) => {
    app.get(
      '/api/v1/projects',
      {
        schema: {
          tags: ['projects'],
          querystring: Type.Object({
            q: Type.Optional(SearchText({ description: 'Only projects whose name or description contains this, case-insensitive' })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
            offset: Type.Optional(Type.Integer({ minimum: 0 })),
          }),
          response: { 200: ProjectPage },
        },
      },
      (req) => projects.list(actorOf(req), req.query.limit, req.query.offset, req.query.q),
    );
    app.post(
      '/api/v1/projects',
      {
        schema: {
          tags: ['projects'],
          body: Type.Object({
            name: Type.String({ minLength: 1, maxLength: 200 }),
            description: Type.Optional(Type.String({ maxLength: 4000 })),
            inactivityTimeoutS: Timeout,
          }),
          response: { 201: Project },
        },
      },
      async (req, reply) => reply.status(201).send(await projects.create(actorOf(req), req.body)),
    );
    app.get('/api/v1/projects/:id', { schema: { tags: ['projects'], params: IdParam, response: { 200: Project } } }, (req) =>
      projects.get(actorOf(req), req.params.id),
    );
    app.patch(
      '/api/v1/projects/:id',
      {
        schema: {
          tags: ['projects'],
          params: IdParam,
          body: Type.Object(
            {
              name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
              description: Type.Optional(Type.String({ maxLength: 4000 })),
              inactivityTimeoutS: Timeout,
            },
            { additionalProperties: false },
          ),
          response: { 200: Project },
        },
      },
      (req) => projects.update(actorOf(req), req.params.id, req.body),
    );
    app.delete('/api/v1/projects/:id', { schema: { tags: ['projects'], params: IdParam, response: { 204: NoContent } } }, async (req, reply) => {
      await projects.delete(actorOf(req), req.params.id);
      return reply.status(204).send(null);
    });
  };
}
