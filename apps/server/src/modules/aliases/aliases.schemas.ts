import { Type, type Static } from 'typebox';
import { Timestamp, Uuid, titled } from '../../platform/http/schemas.js';

export const AliasTapInput = Type.Object(
  {
    deviceId: Type.String({ description: 'A device of the org' }),
    key: Type.String({ description: 'The telemetry key of that device' }),
    from: Type.String({ description: 'ISO 8601 or ms since epoch: the tap runs from here until the next tap starts' }),
  },
  { additionalProperties: false },
);
export type AliasTapInput = Static<typeof AliasTapInput>;

const TAPS = { minItems: 1, maxItems: 100 };
const Taps = Type.Array(AliasTapInput, {
  ...TAPS,
  description: 'In any order; no two may start at the same time. Before the first start the alias has no data',
});

export const AliasInput = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    projectId: Type.Optional(Type.Union([Type.String(), Type.Null()], { description: 'A project of the org, or none' })),
    unit: Type.Optional(Type.Union([Type.String({ maxLength: 32 }), Type.Null()])),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    taps: Taps,
  },
  { additionalProperties: false },
);
export type AliasInput = Static<typeof AliasInput>;

export const AliasPatch = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    projectId: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    unit: Type.Optional(Type.Union([Type.String({ maxLength: 32 }), Type.Null()])),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    taps: Type.Optional(Type.Array(AliasTapInput, { ...TAPS, description: 'Replaces every tap, as in AliasInput' })),
  },
  { additionalProperties: false },
);
export type AliasPatch = Static<typeof AliasPatch>;

export const AliasTap = Type.Object({
  deviceId: Type.Union([Uuid, Type.Null()], { description: 'null: the device was deleted; the alias has no data for this tap’s time' }),
  deviceName: Type.Union([Type.String(), Type.Null()]),
  key: Type.String(),
  from: Timestamp,
  to: Type.Union([Timestamp, Type.Null()], { description: 'The next tap’s start (excluded); null: still running' }),
});
export type AliasTap = Static<typeof AliasTap>;

export const Alias = Type.Object({
  id: Uuid,
  name: Type.String({ description: 'Also the key of its series in a telemetry read' }),
  projectId: Type.Union([Uuid, Type.Null()]),
  unit: Type.Union([Type.String(), Type.Null()]),
  description: Type.String(),
  taps: Type.Array(AliasTap, { description: 'Oldest first' }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Alias = Static<typeof Alias>;

export const AliasList = Type.Object({ items: Type.Array(Alias, { description: 'By name' }) });
export type AliasList = Static<typeof AliasList>;

export const AliasListQuery = Type.Object(
  { projectId: Type.Optional(Type.String({ description: 'Only the aliases of this project' })) },
  { additionalProperties: false },
);

titled({ AliasTapInput, AliasInput, AliasPatch, AliasTap, Alias, AliasList });
