import { Type } from 'typebox';
import { DEVICE_UPLINK_CHANNELS } from '@tether/contracts';
import { CsvBody, csvStream } from '../../platform/http/csv.js';
import type { App } from '../../platform/http/server.js';
import { actorOf } from '../accounts/request-actor.js';
import {
  HeartbeatHistory,
  LatestTelemetry,
  LocationHistory,
  MessageHistory,
  ReportedAttributes,
  TelemetryHistory,
  TelemetryHistoryQuery,
} from './telemetry.schemas.js';
import type { TelemetryService } from './telemetry.service.js';

const IdParam = Type.Object({ id: Type.String() });
const Range = {
  from: Type.Optional(Type.String({ description: 'ISO 8601 or ms since epoch' })),
  to: Type.Optional(Type.String({ description: 'ISO 8601 or ms since epoch' })),
};

const CsvQuery = Type.Object({ from: Type.Optional(Type.String()), to: Type.Optional(Type.String()) });

/** Registered inside an authenticated scope. */
export function telemetryRoutes(telemetry: TelemetryService) {
  return async (app: App) => {
    app.get('/api/v1/devices/:id/telemetry/latest', { schema: { tags: ['telemetry'], params: IdParam, response: { 200: LatestTelemetry } } }, (req) =>
      telemetry.latest(actorOf(req), req.params.id),
    );
    app.get(
      '/api/v1/devices/:id/telemetry',
      {
        schema: {
          tags: ['telemetry'],
          params: IdParam,
          description:
            'Raw points, or aggregates per time bucket when interval or agg is given. Raw points: the newest `limit` (default 10,000) per key, oldest first; ' +
            'a key that had more is listed in `truncated` with a cursor: ask again with `before=<cursor>` (and that key) for the older rest.',
          querystring: TelemetryHistoryQuery,
          response: { 200: TelemetryHistory },
        },
      },
      (req) => telemetry.history(actorOf(req), req.params.id, req.query),
    );
    // Lists capped at `limit` (at most the maximum) say so in `truncated`, with the cursor for the rest.
    const listQuery = (defaultLimit: number, maximum: number, extra = {}) =>
      Type.Object({
        from: Range.from,
        to: Range.to,
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum, default: defaultLimit })),
        before: Type.Optional(Type.String({ description: 'cursor from `truncated`: only items older than it' })),
        ...extra,
      });
    app.get(
      '/api/v1/devices/:id/locations',
      {
        schema: {
          tags: ['telemetry'],
          params: IdParam,
          description:
            'The track over any range (default: the last 24 h): the newest `limit` positions, oldest first, with a cursor for the older rest. ' +
            'With `interval`, one position per time bucket (the last in it): a month of 1 s fixes drawn as a few thousand points.',
          querystring: listQuery(1000, 50_000, {
            interval: Type.Optional(Type.String({ description: 'Downsample: the last position per bucket of 30s, 5m, 1h, 1d or seconds' })),
          }),
          response: { 200: LocationHistory },
        },
      },
      (req) => telemetry.locations(actorOf(req), req.params.id, req.query),
    );
    app.get(
      '/api/v1/devices/:id/heartbeats',
      {
        schema: { tags: ['telemetry'], params: IdParam, querystring: listQuery(1000, 50_000), response: { 200: HeartbeatHistory } },
      },
      (req) => telemetry.heartbeats(actorOf(req), req.params.id, req.query),
    );
    app.get(
      '/api/v1/devices/:id/heartbeats.csv',
      {
        schema: {
          tags: ['telemetry'],
          description: 'The heartbeats in [from, to] (default: the last day) as CSV `ts,uptime,battery,rssi,data`, oldest first, streamed.',
          params: IdParam,
          querystring: CsvQuery,
          response: { 200: CsvBody('CSV, one heartbeat a line') },
        },
      },
      async (req, reply) => {
        const lines = await telemetry.heartbeatsCsv(actorOf(req), req.params.id, req.query);
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="heartbeats-${req.params.id}.csv"`)
          .send(csvStream(lines));
      },
    );
    app.get(
      '/api/v1/devices/:id/telemetry.csv',
      {
        schema: {
          tags: ['telemetry'],
          description:
            'Raw telemetry in [from, to] (default: the last day) as CSV `key,ts,value`, key by key (`keys`: comma-separated; default every key), oldest first, streamed.',
          params: IdParam,
          querystring: Type.Object({ ...CsvQuery.properties, keys: Type.Optional(Type.String({ maxLength: 4000 })) }),
          response: { 200: CsvBody('CSV, one point a line') },
        },
      },
      async (req, reply) => {
        const lines = await telemetry.telemetryCsv(actorOf(req), req.params.id, req.query);
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="telemetry-${req.params.id}.csv"`)
          .send(csvStream(lines));
      },
    );
    app.get('/api/v1/devices/:id/attributes', { schema: { tags: ['telemetry'], params: IdParam, response: { 200: ReportedAttributes } } }, (req) =>
      telemetry.attributes(actorOf(req), req.params.id),
    );
    app.get(
      '/api/v1/devices/:id/messages',
      {
        schema: {
          tags: ['telemetry'],
          params: IdParam,
          description: 'Raw message history, newest first; a capped answer gives the cursor for the older rest in `truncated`.',
          querystring: listQuery(100, 1000, { channel: Type.Optional(Type.Enum(DEVICE_UPLINK_CHANNELS)) }),
          response: { 200: MessageHistory },
        },
      },
      (req) => telemetry.messages(actorOf(req), req.params.id, req.query),
    );
  };
}
