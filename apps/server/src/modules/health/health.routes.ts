import { Type } from 'typebox';
import { CsvBody, csvStream } from '../../platform/http/csv.js';
import type { App } from '../../platform/http/server.js';
import { actorOf } from '../accounts/request-actor.js';
import {
  AtRiskDevices,
  AtRiskQuery,
  DeviceGaps,
  DeviceGapsQuery,
  DeviceHealth,
  DeviceHealthPage,
  DeviceHealthQuery,
  FleetGaps,
  GapsQuery,
  LifespanQuery,
  Lifespans,
  SilentDevices,
  SilentQuery,
} from './health.schemas.js';
import type { HealthService } from './health.service.js';

const IdParam = Type.Object({ id: Type.String() });
const SCOPE_NOTE = 'Fleet selection: projectId, templateId, tag (404 PROJECT_NOT_FOUND / TEMPLATE_NOT_FOUND outside the org).';

/** Registered inside an authenticated scope. */
export function healthRoutes(health: HealthService) {
  return async (app: App) => {
    app.get(
      '/api/v1/health/silent',
      {
        schema: {
          tags: ['health'],
          description:
            'Devices with no heartbeat for more than `minutes` (default 10): the share now, the list (paged), and the share at each UTC midnight of the range. ' +
            'A heartbeat is a message on the heartbeat channel; from the heartbeat rollups (up to a minute behind). ' +
            SCOPE_NOTE,
          querystring: SilentQuery,
          response: { 200: SilentDevices },
        },
      },
      (req) => health.silent(actorOf(req), req.query),
    );

    app.get(
      '/api/v1/health/gaps',
      {
        schema: {
          tags: ['health'],
          description:
            'Time between consecutive heartbeats over the fleet selection, for gaps ending in the range (whole UTC days): exact mean and maximum; ' +
            'median and p95 estimated from the log-spaced histogram (exact to the bucket). ' +
            SCOPE_NOTE,
          querystring: GapsQuery,
          response: { 200: FleetGaps },
        },
      },
      (req) => health.gaps(actorOf(req), req.query),
    );

    app.get(
      '/api/v1/health/lifespans',
      {
        schema: {
          tags: ['health'],
          description:
            'Lifespan per device: first heartbeat → retirement, or → last heartbeat for devices silent for more than `minutes`; devices still heard are alive ' +
            '(censored at their age so far). Distribution, means and a Kaplan–Meier survival curve, in whole hours. ' +
            SCOPE_NOTE,
          querystring: LifespanQuery,
          response: { 200: Lifespans },
        },
      },
      (req) => health.lifespans(actorOf(req), req.query),
    );

    app.get(
      '/api/v1/health/devices',
      {
        schema: {
          tags: ['health'],
          description: 'Per device of the selection (by name, paged): gap statistics and histogram, uptime over the range, silent or not. ' + SCOPE_NOTE,
          querystring: DeviceHealthQuery,
          response: { 200: DeviceHealthPage },
        },
      },
      (req) => health.devices(actorOf(req), req.query),
    );

    app.get(
      '/api/v1/health/devices.csv',
      {
        schema: {
          tags: ['health'],
          description:
            'Every device of the selection (by name) as CSV: first and last heartbeat, retirement, silent, gap statistics, uptime. Streamed. ' + SCOPE_NOTE,
          querystring: Type.Omit(DeviceHealthQuery, ['limit', 'offset']),
          response: { 200: CsvBody('CSV, one device a line') },
        },
      },
      async (req, reply) => {
        const lines = await health.devicesCsv(actorOf(req), req.query);
        return reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="fleet-health.csv"').send(csvStream(lines));
      },
    );

    app.get(
      '/api/v1/health/devices/:id',
      {
        schema: {
          tags: ['health'],
          description: "One device's gap statistics, histogram and uptime over the range. 404 DEVICE_NOT_FOUND.",
          params: IdParam,
          querystring: DeviceHealthQuery,
          response: { 200: DeviceHealth },
        },
      },
      (req) => health.device(actorOf(req), req.params.id, req.query),
    );

    app.get(
      '/api/v1/health/at-risk',
      {
        schema: {
          tags: ['health'],
          description:
            'Devices the early-warning scan flagged: heartbeat gaps trending up, irregular, late beats or an open gap against the device’s own baseline, ' +
            'with a score (0..1) and the reasons, strongest first. The worker scans every device every TETHER_HEALTH_SCAN_S (300 s by default). ' +
            SCOPE_NOTE,
          querystring: AtRiskQuery,
          response: { 200: AtRiskDevices },
        },
      },
      (req) => health.atRisk(actorOf(req), req.query),
    );

    app.get(
      '/api/v1/health/devices/:id/gaps',
      {
        schema: {
          tags: ['health'],
          description: "One device's heartbeats in the range with the seconds since the one before (its gap chart). 404 DEVICE_NOT_FOUND.",
          params: IdParam,
          querystring: DeviceGapsQuery,
          response: { 200: DeviceGaps },
        },
      },
      (req) => health.deviceGaps(actorOf(req), req.params.id, req.query),
    );
  };
}
