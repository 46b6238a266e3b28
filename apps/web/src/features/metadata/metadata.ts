/**
 * Properties (searchable name/value text on a device or project) and notes
 * (text with an author, on a device, one of its telemetry streams, or a
 * project). Types come from the API's schemas (@tether/api-client).
 */
import type { BodyOf, EntityKind, Note, Property, PropertyMatch, QueryOf, ResponseOf, TetherClient } from '@tether/api-client';

export type { EntityKind, Note, Property, PropertyMatch };
export interface EntityRef {
  kind: EntityKind;
  id: string;
}

export const PROPERTY_VALUE_MAX = 4096;
export const NOTE_MAX = 20_000;

const base = (e: EntityRef) => `/api/v1/${e.kind === 'device' ? 'devices' : 'projects'}/${e.id}`;

export const listProperties = (client: TetherClient, e: EntityRef) =>
  client.request<ResponseOf<'/api/v1/devices/{id}/properties', 'get'>>('GET', `${base(e)}/properties`);
export const setProperty = (client: TetherClient, e: EntityRef, name: string, value: string) =>
  client.request<ResponseOf<'/api/v1/devices/{id}/properties/{name}', 'put'>>('PUT', `${base(e)}/properties/${encodeURIComponent(name)}`, { value });
export const deleteProperty = (client: TetherClient, e: EntityRef, name: string) =>
  client.request<void>('DELETE', `${base(e)}/properties/${encodeURIComponent(name)}`);

export const listNotes = (client: TetherClient, e: EntityRef, limit = 100) =>
  client.request<ResponseOf<'/api/v1/devices/{id}/notes', 'get'>>('GET', `${base(e)}/notes`, undefined, { limit });
export const addNote = (client: TetherClient, e: EntityRef, input: BodyOf<'/api/v1/devices/{id}/notes', 'post'>) =>
  client.request<Note>('POST', `${base(e)}/notes`, input);
export const deleteNote = (client: TetherClient, noteId: string) => client.request<void>('DELETE', `/api/v1/notes/${noteId}`);

/** A trailing * in `value` matches a prefix. */
export const searchProperties = (client: TetherClient, q: QueryOf<'/api/v1/properties', 'get'>) =>
  client.request<ResponseOf<'/api/v1/properties', 'get'>>('GET', '/api/v1/properties', undefined, q);
