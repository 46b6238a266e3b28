import { Type } from 'typebox';
import type { App } from '../../platform/http/server.js';
import { NoContent } from '../../platform/http/schemas.js';
import { actorOf } from '../accounts/request-actor.js';
import { Fleet, FleetDevices, FleetDevicesQuery, FleetInput, FleetList, FleetPatch, FleetSelector, MembershipChange } from './fleets.schemas.js';
import type { FleetsService } from './fleets.service.js';

const IdParam = Type.Object({ id: Type.String() });
const tags = ['fleets'];
const SELECTOR_ERRORS = '400 FLEET_SELECTOR_INVALID (no criterion, a firmware range that is not a semver range), 404 PROJECT_NOT_FOUND, TEMPLATE_NOT_FOUND.';

/** Fleets (issue 14): the device groups deployments go to. Registered inside an authenticated scope. */
export function fleetsRoutes(fleets: FleetsService) {
  return async (app: App) => {
    app.get('/api/v1/fleets', { schema: { tags, response: { 200: FleetList } } }, (req) => fleets.list(actorOf(req)));
    app.post(
      '/api/v1/fleets',
      {
        schema: {
          tags,
          description: `A static fleet (deviceIds) or a selector fleet (operator). ${SELECTOR_ERRORS} 404 DEVICE_NOT_FOUND, 409 NAME_TAKEN.`,
          body: FleetInput,
          response: { 201: Fleet },
        },
      },
      async (req, reply) => reply.status(201).send(await fleets.create(actorOf(req), req.body)),
    );
    app.post(
      '/api/v1/fleets/preview',
      {
        schema: {
          tags,
          description: `The devices a selector matches now, before it is saved. ${SELECTOR_ERRORS}`,
          querystring: FleetDevicesQuery,
          body: FleetSelector,
          response: { 200: FleetDevices },
        },
      },
      (req) => fleets.preview(actorOf(req), req.body, req.query.limit ?? 100),
    );
    app.get('/api/v1/fleets/:id', { schema: { tags, params: IdParam, response: { 200: Fleet } } }, (req) => fleets.get(actorOf(req), req.params.id));
    app.patch('/api/v1/fleets/:id', { schema: { tags, params: IdParam, body: FleetPatch, description: SELECTOR_ERRORS, response: { 200: Fleet } } }, (req) =>
      fleets.update(actorOf(req), req.params.id, req.body),
    );
    app.delete('/api/v1/fleets/:id', { schema: { tags, params: IdParam, response: { 204: NoContent } } }, async (req, reply) => {
      await fleets.delete(actorOf(req), req.params.id);
      return reply.status(204).send(null);
    });
    app.get(
      '/api/v1/fleets/:id/devices',
      { schema: { tags, params: IdParam, querystring: FleetDevicesQuery, description: 'The fleet’s devices now', response: { 200: FleetDevices } } },
      (req) => fleets.devices(actorOf(req), req.params.id, req.query.limit ?? 100),
    );
    app.post(
      '/api/v1/fleets/:id/devices',
      {
        schema: {
          tags,
          params: IdParam,
          body: MembershipChange,
          description: 'Adds and removes members of a static fleet. 400 FLEET_SELECTOR_INVALID for a selector fleet, 404 DEVICE_NOT_FOUND.',
          response: { 200: FleetDevices },
        },
      },
      (req) => fleets.changeMembers(actorOf(req), req.params.id, req.body),
    );
  };
}
