import { timingSafeEqual } from 'node:crypto';
import { Type } from 'typebox';
import type { App } from '../../platform/http/server.js';
import { bearerToken } from '../../platform/http/server.js';
import type { DevicesService } from '../devices/devices.service.js';
import { AppError } from '../errors.js';
import { deviceMay } from './routes.js';

const AuthRequest = Type.Object(
  {
    clientid: Type.Optional(Type.String()),
    username: Type.Optional(Type.String()),
    password: Type.Optional(Type.String()),
  },
  { description: "What the broker's HTTP authentication sends (EMQX: `${clientid}`, `${username}`, `${password}`)." },
);
const AclRequest = Type.Object(
  {
    clientid: Type.Optional(Type.String()),
    username: Type.String(),
    topic: Type.String(),
    action: Type.Union([Type.Literal('publish'), Type.Literal('subscribe')]),
  },
  { description: "What the broker's HTTP authorization sends (EMQX: `${username}`, `${topic}`, `${action}`)." },
);
const Verdict = Type.Union([Type.Literal('allow'), Type.Literal('deny')]);
const AuthResponse = Type.Object({ result: Verdict, is_superuser: Type.Boolean() });
const AclResponse = Type.Object({ result: Verdict });

/**
 * Device authentication and ACL for an external broker that asks Tether over
 * HTTP (EMQX's HTTP authenticator and authorizer). The broker proves itself
 * with TETHER_BROKER_AUTH_TOKEN as a bearer token; a device's answer is
 * `allow` or `deny` with 200, as EMQX expects. Without that setting both
 * answer 404. The rules are the embedded
 * broker's: username = device id, password = its token or a device JWT; a
 * device publishes and subscribes only in its own `devices/{id}/` tree.
 */
export function brokerAuthRoutes(devices: DevicesService, brokerToken: string | null) {
  const expected = Buffer.from(brokerToken ?? '');
  const checkBroker = (token: string | null) => {
    if (!brokerToken) throw new AppError('NOT_FOUND', 'broker authentication is off: set TETHER_BROKER_AUTH_TOKEN to use it');
    const given = Buffer.from(token ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      throw new AppError('UNAUTHORIZED', 'send Authorization: Bearer <TETHER_BROKER_AUTH_TOKEN>');
  };
  return async (app: App) => {
    app.post(
      '/api/v1/broker/auth',
      {
        schema: {
          tags: ['broker'],
          description: 'For an external MQTT broker: may this MQTT client connect? username = device id, password = device token or device JWT.',
          body: AuthRequest,
          response: { 200: AuthResponse },
        },
      },
      async (req) => {
        checkBroker(bearerToken(req));
        const { username = '', password = '' } = req.body;
        const identity = password ? await devices.authenticate(username, password) : null;
        // Only Tether-style credentials: on an external broker the device's identity must be in its topics.
        return { result: identity && identity.deviceId === username.toLowerCase() ? 'allow' : 'deny', is_superuser: false } as const;
      },
    );
    app.post(
      '/api/v1/broker/acl',
      {
        schema: {
          tags: ['broker'],
          description:
            "For an external MQTT broker: may this device publish to, or subscribe to, this topic? Only in its own devices/{id}/ tree, as on Tether's broker.",
          body: AclRequest,
          response: { 200: AclResponse },
        },
      },
      async (req) => {
        checkBroker(bearerToken(req));
        const { username, topic, action } = req.body;
        return { result: deviceMay(username, action, topic) ? 'allow' : 'deny' } as const;
      },
    );
  };
}
