/**
 * Building blocks of the REST contract. A route's response schemas are the
 * serializer, the OpenAPI entry and (generated from that) the API client's types.
 */
import { Type, type TSchema } from 'typebox';

/** Every error: `{"error":{"code","message"}}` with a stable code (errors.ts). */
export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'Stable machine-readable code, e.g. DEVICE_NOT_FOUND' }),
      message: Type.String(),
      details: Type.Optional(Type.Unknown()),
    }),
  },
  { title: 'Error', description: 'Error' },
);

export const Timestamp = Type.String({ format: 'date-time' });
export const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);
export const Uuid = Type.String({ format: 'uuid' });
/** Device-sent JSON, stored as it came. */
export const AnyJson = Type.Unknown();
export const JsonObject = Type.Record(Type.String(), Type.Unknown());

/**
 * Text a user searches for (a `q` parameter), matched case-insensitively: at most 200 characters and no
 * control characters (PostgreSQL refuses a NUL, and search separates a device's tags with one).
 */
export const SearchText = (options: { minLength?: number; description?: string } = {}) =>
  Type.String({ maxLength: 200, pattern: '^[^\\u0000-\\u001f\\u007f]*$', ...options });

/** An offset-paged list; `title` names it in the OpenAPI document (e.g. `DevicePage`). */
export const Page = <T extends TSchema>(item: T, title?: string) =>
  Type.Object({ items: Type.Array(item), total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() }, title ? { title } : {});

/** `204 No Content`: @fastify/swagger documents `type: null` as a response without a body. */
export const NoContent = Type.Null({ description: 'No content' });

/**
 * Names a module's schemas after their exported names: each becomes a named type in
 * the OpenAPI document's components and in the generated client (`Device`, `DevicePage`).
 */
export function titled(schemas: Record<string, TSchema>): void {
  for (const [name, schema] of Object.entries(schemas)) (schema as { title?: string }).title ??= name;
}
