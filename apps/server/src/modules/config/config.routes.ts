import { Type } from 'typebox';
import type { App } from '../../platform/http/server.js';
import { actorOf } from '../accounts/request-actor.js';
import { bearerToken } from '../../platform/http/server.js';
import type { DevicesService } from '../devices/devices.service.js';
import { NoContent } from '../../platform/http/schemas.js';
import { ConfigValues, DeviceConfig, ResolvedConfig } from './config.schemas.js';
import type { ConfigScope, ConfigService } from './config.service.js';

const Value = Type.Object({ value: Type.Unknown() });

/** Registered inside an authenticated scope. */
export function configRoutes(config: ConfigService) {
  return async (app: App) => {
    app.get(
      '/api/v1/devices/:id/config',
      {
        schema: {
          tags: ['config'],
          params: Type.Object({ id: Type.String() }),
          description: 'The resolved configuration, device → project → org; each value says where it came from.',
          response: { 200: ResolvedConfig },
        },
      },
      (req) => config.resolveForActor(actorOf(req), req.params.id),
    );

    const scopes: [ConfigScope, string][] = [
      ['device', '/api/v1/devices/:id/config/desired'],
      ['project', '/api/v1/projects/:id/config'],
      ['org', '/api/v1/org/config'],
      ['user', '/api/v1/users/me/config'],
    ];
    for (const [scope, base] of scopes) {
      const withId = base.includes(':id');
      const idOf = (p: unknown) => (withId ? (p as { id: string }).id : null);
      app.get(
        base,
        { schema: { tags: ['config'], ...(withId ? { params: Type.Object({ id: Type.String() }) } : {}), response: { 200: ConfigValues } } },
        (req) => config.list(actorOf(req), scope, idOf(req.params)),
      );
      const keyPath = `${base.replace('/desired', '')}/:key`;
      const params = withId ? Type.Object({ id: Type.String(), key: Type.String() }) : Type.Object({ key: Type.String() });
      app.put(keyPath, { schema: { tags: ['config'], params, body: Value, response: { 204: NoContent } } }, async (req, reply) => {
        const { key } = req.params as { key: string };
        await config.set(actorOf(req), scope, idOf(req.params), key, (req.body as { value: unknown }).value);
        return reply.status(204).send(null);
      });
      app.delete(keyPath, { schema: { tags: ['config'], params, response: { 204: NoContent } } }, async (req, reply) => {
        const { key } = req.params as { key: string };
        await config.delete(actorOf(req), scope, idOf(req.params), key);
        return reply.status(204).send(null);
      });
    }
  };
}

/** The HTTP device API's view of the configuration: what an MQTT device gets on devices/{id}/config. */
export function deviceConfigRoutes(config: ConfigService, devices: DevicesService) {
  return async (app: App) => {
    app.get(
      '/api/v1/device/config',
      {
        schema: {
          tags: ['device api'],
          description:
            "The device's resolved configuration (device → project → org), as plain key → value: what an MQTT device receives retained on devices/{id}/config.",
          response: { 200: DeviceConfig },
        },
      },
      async (req) => config.deviceConfig(await devices.requireDevice(bearerToken(req))),
    );
  };
}
