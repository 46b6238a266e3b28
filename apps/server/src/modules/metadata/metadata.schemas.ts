import { Type, type Static } from 'typebox';
import { Timestamp, Uuid, titled } from '../../platform/http/schemas.js';

export const EntityKind = Type.Union([Type.Literal('device'), Type.Literal('project')]);
export type EntityKind = Static<typeof EntityKind>;

export const Property = Type.Object({ name: Type.String(), value: Type.String(), updatedAt: Timestamp });
export type Property = Static<typeof Property>;
export const PropertyList = Type.Object({ items: Type.Array(Property) });

/** What a PUT answers: the property as written (without updatedAt). */
export const PropertyWritten = Type.Object({ name: Type.String(), value: Type.String() });
export type PropertyWritten = Static<typeof PropertyWritten>;

export const PropertyMatch = Type.Object({
  entityKind: EntityKind,
  entityId: Uuid,
  name: Type.String(),
  value: Type.String(),
});
export type PropertyMatch = Static<typeof PropertyMatch>;
export const PropertyMatchList = Type.Object({ items: Type.Array(PropertyMatch) });

/** A property found by a search text (GET /search): whether its name or its value contains the text. */
export const PropertyFound = Type.Object({
  ...PropertyMatch.properties,
  matched: Type.Object({ field: Type.Union([Type.Literal('name'), Type.Literal('value')]), text: Type.String() }),
});
export type PropertyFound = Static<typeof PropertyFound>;

export const Note = Type.Object({
  id: Uuid,
  kind: Type.Union([Type.Literal('device'), Type.Literal('project'), Type.Literal('stream')], {
    description: 'What the note is on: a device, a project, or one stream (streamKey) of a device',
  }),
  streamKey: Type.Union([Type.String(), Type.Null()], { description: 'The telemetry key of a stream note' }),
  body: Type.String(),
  author: Type.Object({
    id: Type.Union([Uuid, Type.Null()], { description: 'null: written with an API key' }),
    name: Type.String({ description: 'The author\'s name (or email) when written, or "API key"' }),
  }),
  createdAt: Timestamp,
});
export type Note = Static<typeof Note>;
export const NoteList = Type.Object({ items: Type.Array(Note) });

titled({ EntityKind, Property, PropertyList, PropertyWritten, PropertyMatch, PropertyMatchList, PropertyFound, Note, NoteList });
