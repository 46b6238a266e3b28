import { Type, type Static } from 'typebox';
import { NullableTimestamp, Page, Timestamp, Uuid, titled } from '../../platform/http/schemas.js';

export const ReportState = Type.Union([Type.Literal('stored'), Type.Literal('parsing'), Type.Literal('done'), Type.Literal('failed')], {
  description: 'stored (acknowledged, waiting for the parser) → parsing → done | failed',
});

export const Report = Type.Object({
  id: Uuid,
  deviceId: Uuid,
  clientReportId: Type.Union([Type.String(), Type.Null()], { description: 'The device’s own id for the report (X-Report-Id), if it sent one' }),
  format: Type.Union([Type.Literal('jsonl'), Type.Literal('csv')]),
  state: ReportState,
  bytes: Type.Integer(),
  sha256: Type.String({ description: 'SHA-256 of the stored file' }),
  receivedAt: Timestamp,
  sentUptime: Type.Union([Type.Number(), Type.Null()], { description: 'The device’s uptime in seconds when it sent the report (X-Device-Uptime)' }),
  lines: Type.Object(
    {
      total: Type.Integer({ description: 'Data lines parsed so far (blank lines and the CSV header not counted)' }),
      accepted: Type.Integer({ description: 'Lines whose readings were stored' }),
      rejected: Type.Integer({ description: 'Bad lines (see /errors); the good lines around them are kept' }),
      last: Type.Integer({ description: 'The last physical line handled: progress while parsing' }),
    },
    { additionalProperties: false },
  ),
  readings: Type.Integer({ description: 'Values stored from the accepted lines (one per key and line)' }),
  errorsListed: Type.Integer({ description: 'Bad lines listed at /errors (the first 1000)' }),
  errorsNotListed: Type.Integer({ description: 'Bad lines past the listed ones: counted, not listed' }),
  failure: Type.Union([Type.String(), Type.Null()], { description: 'Why the report as a whole failed (state failed)' }),
  createdAt: Timestamp,
  startedAt: NullableTimestamp,
  finishedAt: NullableTimestamp,
});
export type Report = Static<typeof Report>;

export const ReportPage = Page(Report);

export const ReportQuery = Type.Object(
  {
    deviceId: Type.Optional(Type.String({ description: 'Only this device’s reports' })),
    state: Type.Optional(ReportState),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
  },
  { additionalProperties: false },
);
export type ReportQuery = Static<typeof ReportQuery>;

export const ReportLineError = Type.Object({
  line: Type.Integer({ description: '1-based line number in the file' }),
  reason: Type.String({
    description:
      'malformed_json, invalid_payload, invalid_value, invalid_timestamp, identity_mismatch, missing_timestamp, no_sent_uptime, line_too_long, malformed_csv or wrong_column_count',
  }),
  message: Type.String(),
});
export const ReportLineErrorPage = Page(ReportLineError);

export const PageQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
  },
  { additionalProperties: false },
);

export const ReportAccepted = Type.Object({
  id: Uuid,
  state: ReportState,
  duplicate: Type.Boolean({ description: 'True when X-Report-Id named a report already stored: this upload was not stored again' }),
  bytes: Type.Integer(),
  sha256: Type.String(),
  statusUrl: Type.String({ description: 'Where the device reads the report’s progress (GET, with its token)' }),
});
export type ReportAccepted = Static<typeof ReportAccepted>;

export const ReportUploadHeaders = Type.Object({
  'content-type': Type.Optional(Type.String({ description: 'application/x-ndjson (or application/jsonl) for JSON lines, text/csv for CSV' })),
  'x-device-uptime': Type.Optional(
    Type.String({ description: 'Seconds since the device booted, when it sent the report: readings stamped with `uptime` are placed by it' }),
  ),
  'x-report-id': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 128,
      description: 'The device’s own id for this report: an upload with an id already stored answers with that report and stores nothing',
    }),
  ),
});

export const ReportUploadQuery = Type.Object(
  { uptime: Type.Optional(Type.String({ description: 'The same as X-Device-Uptime, for clients that cannot set headers' })) },
  { additionalProperties: false },
);

titled({ Report, ReportPage, ReportLineError, ReportLineErrorPage, ReportAccepted });
