import { ALERT_SEVERITIES } from '@tether/contracts';
import { Type, type Static } from 'typebox';
import { JsonObject, Page, Timestamp, Uuid, titled } from '../../platform/http/schemas.js';

export const Alert = Type.Object({
  id: Uuid,
  deviceId: Uuid,
  deviceName: Type.String(),
  projectId: Type.Union([Uuid, Type.Null()], { description: "The device's project when it raised the alert" }),
  type: Type.Union([Type.String(), Type.Null()], { description: 'What kind of alert, as the device named it' }),
  severity: Type.Enum(ALERT_SEVERITIES),
  message: Type.String(),
  data: JsonObject,
  ts: Type.String({ format: 'date-time', description: 'When it happened: the time the device gave, else when it arrived' }),
  receivedAt: Timestamp,
});
export type Alert = Static<typeof Alert>;

export const AlertPage = Page(Alert);
export type AlertPage = Static<typeof AlertPage>;

titled({ Alert, AlertPage });
