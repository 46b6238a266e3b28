import { Type, type Static } from 'typebox';
import { Timestamp, Uuid } from '../../platform/http/schemas.js';

export const FleetSelector = Type.Object(
  {
    projectId: Type.Optional(Type.String({ description: 'Devices of this project' })),
    templateId: Type.Optional(Type.String({ description: 'Devices of this template' })),
    tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 20, description: 'Devices that have every one of these tags' })),
    firmware: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description:
          'A semver range over the firmware version the device reports (fw_version), e.g. "<2.0.0" or ">=1.2 <1.4"; 1.10.0 is above 1.9.0. A device that reports no version, or one that is not a version, does not match',
      }),
    ),
  },
  { additionalProperties: false, description: 'Every given criterion must hold; at least one is needed' },
);
export type FleetSelector = Static<typeof FleetSelector>;

export const FleetInput = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    kind: Type.Union([Type.Literal('static'), Type.Literal('selector')], { description: 'static: listed devices; selector: every device matching it, now' }),
    selector: Type.Optional(FleetSelector),
    deviceIds: Type.Optional(Type.Array(Type.String(), { maxItems: 10_000, description: 'static: the members' })),
  },
  { additionalProperties: false },
);
export type FleetInput = Static<typeof FleetInput>;

export const FleetPatch = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    selector: Type.Optional(FleetSelector),
  },
  { additionalProperties: false },
);
export type FleetPatch = Static<typeof FleetPatch>;

export const Fleet = Type.Object({
  id: Uuid,
  name: Type.String(),
  description: Type.String(),
  kind: Type.Union([Type.Literal('static'), Type.Literal('selector')]),
  selector: Type.Union([FleetSelector, Type.Null()]),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Fleet = Static<typeof Fleet>;

export const FleetList = Type.Object({ items: Type.Array(Fleet) });

export const FleetMember = Type.Object({
  id: Uuid,
  name: Type.String(),
  projectId: Type.Union([Uuid, Type.Null()]),
  templateId: Type.Union([Uuid, Type.Null()]),
  tags: Type.Array(Type.String()),
  firmwareVersion: Type.Union([Type.String(), Type.Null()]),
  online: Type.Boolean(),
});
export type FleetMember = Static<typeof FleetMember>;

export const FleetDevices = Type.Object({
  total: Type.Integer({ description: 'Devices in the fleet (or matching the selector) now' }),
  items: Type.Array(FleetMember, { description: 'The first `limit` of them, oldest first' }),
});
export type FleetDevices = Static<typeof FleetDevices>;

export const FleetDevicesQuery = Type.Object(
  { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })) },
  { additionalProperties: false },
);

export const MembershipChange = Type.Object(
  {
    add: Type.Optional(Type.Array(Type.String(), { maxItems: 10_000 })),
    remove: Type.Optional(Type.Array(Type.String(), { maxItems: 10_000 })),
  },
  { additionalProperties: false },
);
