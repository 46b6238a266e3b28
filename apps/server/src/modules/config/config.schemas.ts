import { Type, type Static } from 'typebox';
import { Timestamp, Uuid, titled } from '../../platform/http/schemas.js';

/** One scope's own values (device, project, org or user settings): key → JSON value. */
export const ConfigValues = Type.Object({ values: Type.Record(Type.String(), Type.Unknown(), { description: 'Key → JSON value set on this scope' }) });
export type ConfigValues = Static<typeof ConfigValues>;

export const ResolvedValue = Type.Object({
  value: Type.Unknown(),
  source: Type.Union([Type.Literal('device'), Type.Literal('project'), Type.Literal('org')], {
    description: 'Where the value comes from: the most specific scope that sets the key',
  }),
  updatedAt: Timestamp,
});
export type ResolvedValue = Static<typeof ResolvedValue>;

export const ResolvedConfig = Type.Object({
  deviceId: Uuid,
  values: Type.Record(Type.String(), ResolvedValue),
});
export type ResolvedConfig = Static<typeof ResolvedConfig>;

/** What a device receives: the resolved values without their sources. */
export const DeviceConfig = Type.Record(Type.String(), Type.Unknown(), { description: 'Key → JSON value, resolved device → project → org' });
export type DeviceConfig = Static<typeof DeviceConfig>;

titled({ ConfigValues, ResolvedValue, ResolvedConfig, DeviceConfig });
