import type { FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { Type } from 'typebox';
import type { App } from '../../platform/http/server.js';
import { bearerToken } from '../../platform/http/server.js';
import { NoContent } from '../../platform/http/schemas.js';
import { actorOf } from '../accounts/request-actor.js';
import type { DevicesService } from '../devices/devices.service.js';
import { PageQuery, Report, ReportAccepted, ReportLineErrorPage, ReportPage, ReportQuery, ReportUploadHeaders, ReportUploadQuery } from './reports.schemas.js';
import type { ReportsService } from './reports.service.js';

const IdParam = Type.Object({ id: Type.String() });
const tags = ['reports'];

/** The device side: upload a report, read its progress. Authenticated by the device token, as the other device routes. */
export function deviceReportRoutes(reports: ReportsService, devices: DevicesService) {
  const authDevice = (req: FastifyRequest) => devices.requireDevice(bearerToken(req));
  return async (app: App) => {
    // The body is streamed to the file storage as it arrives, never buffered (ReportsService.upload).
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
    app.post(
      '/api/v1/device/reports',
      {
        schema: {
          tags: ['device api'],
          headers: ReportUploadHeaders,
          querystring: ReportUploadQuery,
          description:
            'Store-and-forward: readings the device buffered, as JSON lines (application/x-ndjson: one telemetry object or array per line, each with `ts` or `uptime`) ' +
            'or CSV (text/csv: a header `ts,<key>,…` or `uptime,<key>,…`). Streamed to storage; 202 once the file and the report are committed, before parsing. ' +
            'Readings stamped with `uptime` (seconds since boot) are placed at receive time − (X-Device-Uptime − uptime). ' +
            '401 UNAUTHORIZED, 413 PAYLOAD_TOO_LARGE (nothing stored), 415 UNSUPPORTED_MEDIA_TYPE, 400 UPLOAD_INCOMPLETE, VALIDATION_FAILED (empty, bad X-Device-Uptime).',
          response: { 202: ReportAccepted },
        },
      },
      async (req, reply) => {
        const receivedAt = new Date();
        const device = await authDevice(req);
        const length = req.headers['content-length'] === undefined ? null : Number(req.headers['content-length']);
        const result = await reports.upload(device, {
          body: req.body as Readable,
          contentType: req.headers['content-type'],
          declaredBytes: Number.isFinite(length) ? length : null,
          sentUptime: req.headers['x-device-uptime'] ?? req.query.uptime,
          clientReportId: req.headers['x-report-id'],
          receivedAt,
        });
        return reply.status(202).send(result);
      },
    );
    app.get(
      '/api/v1/device/reports/:id',
      {
        schema: {
          tags: ['device api'],
          params: IdParam,
          description: 'The device reads one of its own reports: state, line counts. 404 REPORT_NOT_FOUND for any other.',
          response: { 200: Report },
        },
      },
      async (req) => reports.getForDevice(await authDevice(req), req.params.id),
    );
  };
}

/** Reports for members of the org. Registered inside an authenticated scope. */
export function reportsRoutes(reports: ReportsService) {
  return async (app: App) => {
    app.get(
      '/api/v1/reports',
      {
        schema: {
          tags,
          querystring: ReportQuery,
          description: 'The org’s reports, newest first; deviceId of another org is DEVICE_NOT_FOUND.',
          response: { 200: ReportPage },
        },
      },
      (req) => reports.list(actorOf(req), req.query),
    );
    app.get('/api/v1/reports/:id', { schema: { tags, params: IdParam, response: { 200: Report } } }, (req) => reports.get(actorOf(req), req.params.id));
    app.get(
      '/api/v1/reports/:id/errors',
      {
        schema: {
          tags,
          params: IdParam,
          querystring: PageQuery,
          description: 'The report’s bad lines, by line number (the first 1000 are kept; errorsNotListed counts the rest).',
          response: { 200: ReportLineErrorPage },
        },
      },
      (req) => reports.errors(actorOf(req), req.params.id, req.query),
    );
    app.delete(
      '/api/v1/reports/:id',
      {
        schema: {
          tags,
          params: IdParam,
          description: 'Operator. Deletes the report and its file (audited); the readings already stored stay. A parse under way stops.',
          response: { 204: NoContent },
        },
      },
      async (req, reply) => {
        await reports.delete(actorOf(req), req.params.id);
        return reply.status(204).send(null);
      },
    );
  };
}
