import { Type, type Static } from 'typebox';
import { JsonObject, Timestamp, Uuid, titled } from '../../platform/http/schemas.js';

export const AuditQuery = Type.Object(
  {
    actor: Type.Optional(Type.String({ format: 'uuid', description: 'The acting user’s (or API key’s, or device’s) id' })),
    action: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Exact (`device.delete`), or a prefix ending in a dot (`device.`)' })),
    targetKind: Type.Optional(Type.String({ minLength: 1, maxLength: 50, description: 'e.g. `user`, `device`, `api_key`, `project`' })),
    targetId: Type.Optional(Type.String({ format: 'uuid' })),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'Entries at or after this time' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'Entries before this time' })),
    before: Type.Optional(Type.String({ format: 'uuid', description: 'The previous page’s `nextBefore`: entries older than that one' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
  },
  { additionalProperties: false },
);
export type AuditQuery = Static<typeof AuditQuery>;

export const AuditActor = Type.Object({
  kind: Type.Union([Type.Literal('user'), Type.Literal('api_key'), Type.Literal('device'), Type.Literal('anonymous')], {
    description: '`anonymous`: not signed in (a failed sign-in)',
  }),
  id: Type.Union([Uuid, Type.Null()]),
  name: Type.Union([Type.String(), Type.Null()], { description: 'The user’s or API key’s name, when it still exists' }),
  email: Type.Union([Type.String(), Type.Null()], { description: 'A user’s e-mail' }),
});

export const AuditEntry = Type.Object({
  id: Uuid,
  at: Timestamp,
  actor: AuditActor,
  action: Type.String({ description: 'e.g. `user.create`, `auth.login_failed`, `device.credentials_rotate`' }),
  target: Type.Object({ kind: Type.String(), id: Type.Union([Uuid, Type.Null()]) }),
  ip: Type.Union([Type.String(), Type.Null()], { description: 'The caller’s address; null for actions with no HTTP request (a device, the server itself)' }),
  details: JsonObject,
});
export type AuditEntry = Static<typeof AuditEntry>;

export const AuditPage = Type.Object({
  items: Type.Array(AuditEntry),
  nextBefore: Type.Union([Uuid, Type.Null()], { description: 'Pass as `before` for the next (older) page; null on the last page' }),
});

titled({ AuditQuery, AuditActor, AuditEntry, AuditPage });
