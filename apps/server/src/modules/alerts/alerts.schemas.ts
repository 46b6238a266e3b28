import { ALERT_SEVERITIES } from '@tether/contracts';
import { Type, type Static } from 'typebox';
import { JsonObject, Page, Timestamp, Uuid, titled } from '../../platform/http/schemas.js';
import { EventFile } from '../files/files.schemas.js';

export const Alert = Type.Object({
  id: Uuid,
  deviceId: Uuid,
  deviceName: Type.String(),
  projectId: Type.Union([Uuid, Type.Null()], { description: "The device's project when it raised the alert" }),
  type: Type.Union([Type.String(), Type.Null()], { description: 'What kind of alert, as the device named it' }),
  severity: Type.Enum(ALERT_SEVERITIES),
  message: Type.String(),
  data: JsonObject,
  files: Type.Array(Type.String(), { description: 'Names of the files the device said it uploads for this alert (in its folder)' }),
  ts: Type.String({ format: 'date-time', description: 'When it happened: the time the device gave, else when it arrived' }),
  receivedAt: Timestamp,
});
export type Alert = Static<typeof Alert>;

export const AlertPage = Page(Alert);
export type AlertPage = Static<typeof AlertPage>;

export const AlertDetail = Type.Intersect([
  Alert,
  Type.Object({
    attachments: Type.Array(EventFile, { description: "Each named file, with the device's file once its upload has started (null before)" }),
  }),
]);
export type AlertDetail = Static<typeof AlertDetail>;

export const AlertQuery = Type.Object({
  deviceId: Type.Optional(Type.String()),
  projectId: Type.Optional(Type.String()),
  type: Type.Optional(Type.String()),
  severity: Type.Optional(Type.String({ description: 'one or more of critical, major, minor, warning, info, comma-separated' })),
  from: Type.Optional(Type.String()),
  to: Type.Optional(Type.String()),
  data: Type.Optional(
    Type.String({ maxLength: 4096, description: 'a JSON object the alert\'s data must contain (e.g. `{"axis":"x"}`): queries the events\' JSON summaries' }),
  ),
  hasFiles: Type.Optional(Type.Boolean({ description: 'only alerts that name files (true) or none (false)' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  offset: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type AlertQuery = Static<typeof AlertQuery>;

titled({ Alert, AlertPage, AlertDetail });
