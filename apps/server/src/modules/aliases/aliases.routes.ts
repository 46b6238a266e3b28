import { Type } from 'typebox';
import type { App } from '../../platform/http/server.js';
import { NoContent } from '../../platform/http/schemas.js';
import { actorOf } from '../accounts/request-actor.js';
import { TelemetryHistory, TelemetryHistoryQuery } from '../telemetry/telemetry.schemas.js';
import { Alias, AliasInput, AliasList, AliasListQuery, AliasPatch } from './aliases.schemas.js';
import type { AliasesService } from './aliases.service.js';

const IdParam = Type.Object({ id: Type.String() });
const tags = ['aliases'];
const TAP_ERRORS =
  '400 ALIAS_TAPS_INVALID (no tap, two taps starting at the same time), ALIAS_KEY_INVALID (empty, too long or reserved key), ' +
  'VALIDATION_FAILED (a start that is not a time); 404 DEVICE_NOT_FOUND (a device not in the org), PROJECT_NOT_FOUND; 409 NAME_TAKEN.';

/** Stream aliases (seed 004, issue 15). Registered inside an authenticated scope. */
export function aliasesRoutes(aliases: AliasesService) {
  return async (app: App) => {
    app.get('/api/v1/aliases', { schema: { tags, querystring: AliasListQuery, response: { 200: AliasList } } }, (req) => aliases.list(actorOf(req), req.query));
    app.post(
      '/api/v1/aliases',
      { schema: { tags, description: `A stream alias and its taps (operator). ${TAP_ERRORS}`, body: AliasInput, response: { 201: Alias } } },
      async (req, reply) => reply.status(201).send(await aliases.create(actorOf(req), req.body)),
    );
    app.get('/api/v1/aliases/:id', { schema: { tags, params: IdParam, response: { 200: Alias } } }, (req) => aliases.get(actorOf(req), req.params.id));
    app.patch(
      '/api/v1/aliases/:id',
      {
        schema: {
          tags,
          params: IdParam,
          description: `Changes an alias; taps, when given, replace all of them (operator). ${TAP_ERRORS}`,
          body: AliasPatch,
          response: { 200: Alias },
        },
      },
      (req) => aliases.update(actorOf(req), req.params.id, req.body),
    );
    app.delete(
      '/api/v1/aliases/:id',
      { schema: { tags, params: IdParam, description: 'Deletes the alias, not the data (operator)', response: { 204: NoContent } } },
      async (req, reply) => {
        await aliases.delete(actorOf(req), req.params.id);
        return reply.status(204).send(null);
      },
    );
    app.get(
      '/api/v1/aliases/:id/telemetry',
      {
        schema: {
          tags: ['aliases', 'telemetry'],
          params: IdParam,
          description:
            'The alias read as a device key is: the query and answer of GET /api/v1/devices/{id}/telemetry, with one series named after the alias, ' +
            'each tap’s device key supplying its stretch of time (`sources`). Raw points: the newest `limit` across the taps, with a cursor for the rest. ' +
            'Aggregated: a bucket that spans a tap change combines both sides (sum, count, min, max as such; avg weighted by points; last from the newer tap).',
          querystring: TelemetryHistoryQuery,
          response: { 200: TelemetryHistory },
        },
      },
      (req) => aliases.history(actorOf(req), req.params.id, req.query),
    );
  };
}
