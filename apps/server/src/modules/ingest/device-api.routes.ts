import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { UplinkChannel } from '@tether/contracts';
import type { App } from '../../platform/http/server.js';
import { bearerToken } from '../../platform/http/server.js';
import { AppError } from '../errors.js';
import type { DevicesService } from '../devices/devices.service.js';
import type { DeviceIdentity } from '../devices/devices.repository.js';
import { IngestRejection } from './ingest-message.js';
import { QuotaExceeded } from './ingest.quota.js';
import { IngestOverloaded, type IngestService } from './ingest.service.js';

const Accepted = Type.Object({ accepted: Type.Literal(true) }, { description: 'Committed' });
/** ThingsBoard answers an upload with an empty 200. */
const EmptyOk = Type.Null({ description: 'Committed (empty body, as ThingsBoard answers)' });

const PATHS: [string, UplinkChannel][] = [
  ['telemetry', 'telemetry'],
  ['alerts', 'alerts'],
  ['heartbeat', 'heartbeat'],
  ['location', 'location'],
  ['attributes', 'attributes'],
];

const REJECT_CODE = {
  malformed_json: 'INVALID_PAYLOAD',
  invalid_payload: 'INVALID_PAYLOAD',
  invalid_value: 'INVALID_PAYLOAD',
  invalid_timestamp: 'INVALID_PAYLOAD',
  too_large: 'PAYLOAD_TOO_LARGE',
  identity_mismatch: 'FORBIDDEN',
  unknown_topic: 'NOT_FOUND',
  not_authorized: 'UNAUTHORIZED',
} as const;

/**
 * The HTTP device API (architecture §4, §9). A 2xx is sent only after the
 * message is committed; when the ingest budget is spent the device gets 503
 * INGEST_OVERLOADED with Retry-After and retries (its body is not held); a device
 * or org over its ingest quota gets 429 QUOTA_EXCEEDED with Retry-After.
 */
export function deviceApiRoutes(deps: { ingest: IngestService; devices: DevicesService }) {
  const { ingest, devices } = deps;

  const accept = async (device: DeviceIdentity, channel: UplinkChannel, body: string, reply: FastifyReply) => {
    try {
      await ingest.accept(device, channel, 'http', body, 'refuse');
    } catch (err) {
      if (err instanceof IngestRejection) throw new AppError(REJECT_CODE[err.reason], err.message);
      if (err instanceof QuotaExceeded) {
        reply.header('retry-after', String(Math.max(1, Math.ceil(err.retryAfterMs / 1000))));
        throw new AppError('QUOTA_EXCEEDED', err.message);
      }
      if (err instanceof IngestOverloaded) {
        reply.header('retry-after', '1');
        throw new AppError('INGEST_OVERLOADED', err.message);
      }
      throw new AppError('UNAVAILABLE', 'the message could not be stored; retry');
    }
  };

  const authDevice = (req: FastifyRequest): Promise<DeviceIdentity> => devices.requireDevice(bearerToken(req));

  return async (app: App) => {
    // Bodies reach the decoder as text: one JSON parse, with the device protocol's own errors.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser(['application/json', 'text/plain'], { parseAs: 'string' }, (_req, body, done) => done(null, body));

    for (const [path, channel] of PATHS) {
      app.post(
        `/api/v1/device/${path}`,
        {
          schema: {
            tags: ['device api'],
            description: `Device ${channel}, same payload as MQTT devices/{id}/${channel}. 202 after commit.`,
            response: { 202: Accepted },
          },
        },
        async (req, reply) => {
          const device = await authDevice(req);
          await accept(device, channel, (req.body as string | undefined) ?? '', reply);
          return reply.status(202).send({ accepted: true });
        },
      );
    }

    // ThingsBoard-compatible HTTP API: the access token is in the path.
    for (const [path, channel] of [
      ['telemetry', 'telemetry'],
      ['attributes', 'attributes'],
    ] as const) {
      app.post(
        `/api/v1/:token/${path}`,
        {
          schema: {
            tags: ['device api'],
            params: Type.Object({ token: Type.String() }),
            description: `ThingsBoard-compatible ${path} upload`,
            response: { 200: EmptyOk },
          },
        },
        async (req, reply) => {
          const { token } = req.params as { token: string };
          const device = await devices.authenticateToken(token);
          if (!device) throw new AppError('UNAUTHORIZED', 'device token is invalid or revoked');
          await accept(device, channel, (req.body as string | undefined) ?? '', reply);
          // No body at all (`null` would serialize to "null"): what ThingsBoard firmware expects.
          return reply.status(200).send(undefined as unknown as null);
        },
      );
    }
  };
}
