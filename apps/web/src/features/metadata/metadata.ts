/**
 * Properties (searchable name/value text on a device or project) and notes
 * (text with an author, on a device, one of its telemetry streams, or a
 * project). Not yet in @tether/api-client.
 */
import type { TetherClient } from '@tether/api-client';

export type EntityKind = 'device' | 'project';
export interface EntityRef {
  kind: EntityKind;
  id: string;
}

export interface Property {
  name: string;
  value: string;
  updatedAt: string;
}
export interface Note {
  id: string;
  /** 'stream' for a note on one telemetry key of a device. */
  kind: 'device' | 'project' | 'stream';
  streamKey: string | null;
  body: string;
  author: { id: string | null; name: string };
  createdAt: string;
}
export interface PropertyMatch {
  entityKind: EntityKind;
  entityId: string;
  name: string;
  value: string;
}

export const PROPERTY_VALUE_MAX = 4096;
export const NOTE_MAX = 20_000;

const base = (e: EntityRef) => `/api/v1/${e.kind === 'device' ? 'devices' : 'projects'}/${e.id}`;

export const listProperties = (client: TetherClient, e: EntityRef) => client.request<{ items: Property[] }>('GET', `${base(e)}/properties`);
export const setProperty = (client: TetherClient, e: EntityRef, name: string, value: string) =>
  client.request<{ name: string; value: string }>('PUT', `${base(e)}/properties/${encodeURIComponent(name)}`, { value });
export const deleteProperty = (client: TetherClient, e: EntityRef, name: string) => client.request<void>('DELETE', `${base(e)}/properties/${encodeURIComponent(name)}`);

export const listNotes = (client: TetherClient, e: EntityRef, limit = 100) => client.request<{ items: Note[] }>('GET', `${base(e)}/notes`, undefined, { limit });
export const addNote = (client: TetherClient, e: EntityRef, input: { body: string; streamKey?: string }) => client.request<Note>('POST', `${base(e)}/notes`, input);
export const deleteNote = (client: TetherClient, noteId: string) => client.request<void>('DELETE', `/api/v1/notes/${noteId}`);

/** A trailing * in `value` matches a prefix. */
export const searchProperties = (client: TetherClient, q: { name?: string; value?: string; limit?: number }) =>
  client.request<{ items: PropertyMatch[] }>('GET', '/api/v1/properties', undefined, q);
