import { Type } from 'typebox';
import type { App } from '../../platform/http/server.js';
import { actorOf } from '../accounts/request-actor.js';
import { NoContent, SearchText } from '../../platform/http/schemas.js';
import { secretLimits } from '../../platform/http/rate-limits.js';
import { ClaimRequest, CreatedDevice, Device, DeviceCredentials, DevicePage, DevicePositions, DevicePositionsQuery, DeviceStatus } from './devices.schemas.js';
import type { DevicesService } from './devices.service.js';

const IdParam = Type.Object({ id: Type.String() });
const Tags = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 50 });
const Serial = Type.Optional(Type.Union([Type.String({ maxLength: 64, description: 'Serial number or IMEI, unique in the org' }), Type.Null()]));
const Timeout = Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 31 * 86400 }), Type.Null()]));

/** Claims: a person types codes off labels; far above that is someone guessing. */
const CLAIM_LIMITS = { perIp: 60, perAccount: 20 };

/** Registered inside an authenticated scope. */
export function devicesRoutes(devices: DevicesService) {
  return async (app: App) => {
    app.get(
      '/api/v1/devices',
      {
        schema: {
          tags: ['devices'],
          querystring: Type.Object({
            projectId: Type.Optional(Type.String()),
            tag: Type.Optional(Type.String()),
            online: Type.Optional(Type.Boolean()),
            q: Type.Optional(
              SearchText({
                description:
                  'Devices whose name, serial, a tag, a metadata key or value, or a property contains this, in any case, ' +
                  'or whose id is it or starts with it (4 or more hex digits, with or without the dashes)',
              }),
            ),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
            offset: Type.Optional(Type.Integer({ minimum: 0 })),
          }),
          response: { 200: DevicePage },
        },
      },
      (req) => devices.list(actorOf(req), req.query),
    );

    app.post(
      '/api/v1/devices',
      {
        schema: {
          tags: ['devices'],
          description:
            'Creates a device (admin). The response carries its access token; this is the only time it is shown. ' +
            'claimCode: true makes it unclaimed (no projectId allowed) with a claim code for its label, also shown only here. 409 SERIAL_TAKEN.',
          body: Type.Object({
            name: Type.String({ minLength: 1, maxLength: 200 }),
            serial: Serial,
            claimCode: Type.Optional(Type.Boolean()),
            projectId: Type.Optional(Type.Union([Type.String(), Type.Null()])),
            templateId: Type.Optional(Type.Union([Type.String(), Type.Null()])),
            type: Type.Optional(Type.String({ maxLength: 200 })),
            tags: Type.Optional(Tags),
            metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
            inactivityTimeoutS: Timeout,
          }),
          response: { 201: CreatedDevice },
        },
      },
      async (req, reply) => {
        const { device, token, claimCode } = await devices.create(actorOf(req), req.body);
        return reply.status(201).send({ ...device, token, ...(claimCode ? { claimCode } : {}) });
      },
    );

    app.post(
      '/api/v1/devices/claim',
      {
        // Per IP and per user: a claim code is short enough to type, so guessing is slowed here.
        preHandler: secretLimits(app, CLAIM_LIMITS, (req) => {
          const a = actorOf(req);
          return a.userId ?? a.apiKeyId;
        }),
        schema: {
          tags: ['devices'],
          description:
            'Claims the unclaimed device whose label carries the code into a project of your org (operator, audited). ' +
            'Repeating a claim into the same project answers the same. 404 CLAIM_CODE_NOT_FOUND (unknown code, or another org’s), ' +
            '409 DEVICE_ALREADY_CLAIMED (claimed into another project), 404 PROJECT_NOT_FOUND, 429 RATE_LIMITED.',
          body: ClaimRequest,
          response: { 200: Device },
        },
      },
      (req) => devices.claim(actorOf(req), req.body.code, req.body.projectId),
    );

    app.get(
      '/api/v1/locations/latest',
      {
        schema: {
          tags: ['devices', 'telemetry'],
          description:
            'The fleet map: the last known position of every device of the org (or of one project) that reported one, with its name and status. ' +
            'Live updates: subscribe to the `locations` channel of /api/v1/live. 404 PROJECT_NOT_FOUND.',
          querystring: DevicePositionsQuery,
          response: { 200: DevicePositions },
        },
      },
      (req) => devices.positions(actorOf(req), req.query),
    );

    app.get('/api/v1/devices/:id', { schema: { tags: ['devices'], params: IdParam, response: { 200: Device } } }, (req) =>
      devices.get(actorOf(req), req.params.id),
    );

    app.patch(
      '/api/v1/devices/:id',
      {
        schema: {
          tags: ['devices'],
          params: IdParam,
          body: Type.Object(
            {
              name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
              serial: Serial,
              projectId: Type.Optional(Type.Union([Type.String(), Type.Null()])),
              templateId: Type.Optional(Type.Union([Type.String(), Type.Null()])),
              type: Type.Optional(Type.String({ maxLength: 200 })),
              tags: Type.Optional(Tags),
              metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
              inactivityTimeoutS: Timeout,
            },
            { additionalProperties: false },
          ),
          response: { 200: Device },
        },
      },
      (req) => devices.update(actorOf(req), req.params.id, req.body),
    );

    app.delete('/api/v1/devices/:id', { schema: { tags: ['devices'], params: IdParam, response: { 204: NoContent } } }, async (req, reply) => {
      await devices.delete(actorOf(req), req.params.id);
      return reply.status(204).send(null);
    });

    app.post(
      '/api/v1/devices/:id/retire',
      {
        schema: {
          tags: ['devices', 'health'],
          params: IdParam,
          description:
            'Marks the device retired (operator, audited): its lifespan ends now; it keeps its data. Retiring again keeps the first time and updates the reason.',
          body: Type.Object({ reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false }),
          response: { 200: Device },
        },
      },
      (req) => devices.retire(actorOf(req), req.params.id, req.body.reason),
    );

    app.post(
      '/api/v1/devices/:id/unretire',
      {
        schema: { tags: ['devices', 'health'], params: IdParam, description: 'Clears a retirement (operator, audited).', response: { 200: Device } },
      },
      (req) => devices.unretire(actorOf(req), req.params.id),
    );

    app.post(
      '/api/v1/devices/:id/unclaim',
      {
        schema: {
          tags: ['devices'],
          params: IdParam,
          description:
            'Returns a claimed device to the unclaimed pool (operator, audited): out of its project; its claim code claims it again. ' +
            'It keeps its data and credentials. 409 DEVICE_NOT_CLAIMED.',
          response: { 200: Device },
        },
      },
      (req) => devices.unclaim(actorOf(req), req.params.id),
    );

    app.get('/api/v1/devices/:id/status', { schema: { tags: ['devices'], params: IdParam, response: { 200: DeviceStatus } } }, (req) =>
      devices.status(actorOf(req), req.params.id),
    );

    app.post(
      '/api/v1/devices/:id/credentials/rotate',
      {
        schema: { tags: ['devices'], params: IdParam, description: 'Issues a new access token and revokes the old one.', response: { 200: DeviceCredentials } },
      },
      (req) => devices.rotateCredentials(actorOf(req), req.params.id),
    );

    app.post(
      '/api/v1/devices/:id/credentials/revoke',
      {
        schema: {
          tags: ['devices'],
          params: IdParam,
          description: 'Revokes the access token and every device JWT issued so far.',
          response: { 204: NoContent },
        },
      },
      async (req, reply) => {
        await devices.revokeCredentials(actorOf(req), req.params.id);
        return reply.status(204).send(null);
      },
    );
  };
}
