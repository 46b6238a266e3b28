import { Type, type Static } from 'typebox';
import { Timestamp, Uuid, titled } from '../../platform/http/schemas.js';

/** A telemetry key a device of the template is expected to send (also the request body's shape). */
export const TelemetryKeySpec = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128 }),
    unit: Type.Optional(Type.String({ maxLength: 32 })),
    type: Type.Optional(Type.Union([Type.Literal('number'), Type.Literal('string'), Type.Literal('boolean'), Type.Literal('json')])),
    min: Type.Optional(
      Type.Number({
        description:
          "The lowest expected value. Advisory: it sets the charts' display range and flags readings below it; such readings are still stored as sent",
      }),
    ),
    max: Type.Optional(
      Type.Number({
        description:
          "The highest expected value. Advisory: it sets the charts' display range and flags readings above it; such readings are still stored as sent",
      }),
    ),
  },
  { additionalProperties: false },
);
export type TelemetryKeySpec = Static<typeof TelemetryKeySpec>;

/** A command the template's devices accept (also the request body's shape). */
export const CommandSpec = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128 }),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    params: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'JSON Schema of the params' })),
  },
  { additionalProperties: false },
);
export type CommandSpec = Static<typeof CommandSpec>;

export const DeviceTemplate = Type.Object({
  id: Uuid,
  name: Type.String(),
  description: Type.String(),
  telemetry: Type.Array(TelemetryKeySpec),
  commands: Type.Array(CommandSpec, { description: 'A device created from the template accepts only these commands' }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type DeviceTemplate = Static<typeof DeviceTemplate>;

export const DeviceTemplateList = Type.Object({ items: Type.Array(DeviceTemplate) });

titled({ TelemetryKeySpec, CommandSpec, DeviceTemplate, DeviceTemplateList });
