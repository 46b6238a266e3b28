import { Type } from 'typebox';
import type { App } from '../../platform/http/server.js';
import { secretLimits } from '../../platform/http/rate-limits.js';
import { actorOf } from '../accounts/request-actor.js';
import { DeviceJwt } from '../devices/devices.schemas.js';
import { DeviceLoginRequest, ProvisioningKey, ProvisioningKeyWithSecret, ProvisionRequest, ProvisionResponse } from './provisioning.schemas.js';
import type { ProvisioningService } from './provisioning.service.js';

const IdParam = Type.Object({ id: Type.String() });

/** A factory may power up a batch behind one address; per key, far more than a fleet needs and far less than guessing a secret would. */
const PROVISION_LIMITS = { perIp: 1200, perAccount: 600 };

/** The project owner's side: registered inside an authenticated scope. */
export function provisioningKeyRoutes(provisioning: ProvisioningService) {
  return async (app: App) => {
    app.get(
      '/api/v1/projects/:id/provisioning',
      {
        schema: {
          tags: ['projects', 'provisioning'],
          params: IdParam,
          description: "The project's provisioning key (never its secret); null when it has none.",
          response: { 200: Type.Union([ProvisioningKey, Type.Null()]) },
        },
      },
      (req) => provisioning.get(actorOf(req), req.params.id),
    );

    app.post(
      '/api/v1/projects/:id/provisioning',
      {
        schema: {
          tags: ['projects', 'provisioning'],
          params: IdParam,
          description:
            'Creates the project’s provisioning key and secret, or rotates both (admin, audited): devices holding the old ones are refused from now on. ' +
            'The secret is shown here only. allowReprovision keeps its value unless given (default false).',
          body: Type.Optional(Type.Object({ allowReprovision: Type.Optional(Type.Boolean()) }, { additionalProperties: false })),
          response: { 201: ProvisioningKeyWithSecret },
        },
      },
      async (req, reply) => reply.status(201).send(await provisioning.put(actorOf(req), req.params.id, req.body ?? {})),
    );

    app.patch(
      '/api/v1/projects/:id/provisioning',
      {
        schema: {
          tags: ['projects', 'provisioning'],
          params: IdParam,
          description: 'Enables or disables the key, or sets the re-provisioning policy (admin, audited). 404 PROVISIONING_KEY_NOT_FOUND.',
          body: Type.Object({ enabled: Type.Optional(Type.Boolean()), allowReprovision: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
          response: { 200: ProvisioningKey },
        },
      },
      (req) => provisioning.update(actorOf(req), req.params.id, req.body),
    );
  };
}

/** The device's side: public, each request checks a secret, so limited per IP and per key. */
export function provisioningDeviceRoutes(provisioning: ProvisioningService) {
  return async (app: App) => {
    const limits = secretLimits(app, PROVISION_LIMITS, (req) => {
      const key = (req.body as { provisionDeviceKey?: unknown } | undefined)?.provisionDeviceKey;
      return typeof key === 'string' ? `provision:${key}` : null;
    });

    app.post(
      '/api/v1/provision',
      {
        preHandler: limits,
        schema: {
          tags: ['device api', 'provisioning'],
          security: [],
          description:
            'Device self-provisioning (ThingsBoard’s request and response): the device sends its serial or IMEI as deviceName with its project’s ' +
            'provisioning key and secret and gets its id and access token (without deviceName: a new device with a generated name and no serial). 401 PROVISIONING_FAILED (unknown or disabled key, wrong secret: nothing is created), ' +
            '409 DEVICE_ALREADY_PROVISIONED (the serial exists and the project does not re-provision it), 429 RATE_LIMITED.',
          body: ProvisionRequest,
          response: { 200: ProvisionResponse },
        },
      },
      (req) => provisioning.provision(req.body),
    );

    app.post(
      '/api/v1/auth/device-login',
      {
        preHandler: limits,
        schema: {
          tags: ['auth', 'provisioning'],
          security: [],
          description:
            'IMEI login (seed 003): a device registered with a serial or IMEI exchanges it and its project’s provisioning key and secret for a device JWT. ' +
            '401 PROVISIONING_FAILED, 404 DEVICE_NOT_FOUND (no device of that project has the serial), 429 RATE_LIMITED.',
          body: DeviceLoginRequest,
          response: { 200: DeviceJwt },
        },
      },
      (req) => provisioning.login(req.body),
    );
  };
}
