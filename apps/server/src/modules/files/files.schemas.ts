import { FileName } from '@tether/contracts';
import { Type, type Static } from 'typebox';
import { NullableTimestamp, Page, Timestamp, Uuid, titled } from '../../platform/http/schemas.js';

export const FILE_STATES = ['uploading', 'stored'] as const;

export const DeviceFile = Type.Object({
  id: Uuid,
  deviceId: Uuid,
  deviceName: Type.String(),
  name: FileName,
  path: Type.String({ description: "Where it is in the org's files: `<deviceId>/<name>` (seed 003's folder structure)" }),
  size: Type.Integer({ description: 'Bytes (declared at the start of the upload; all of them once stored)' }),
  state: Type.Enum(FILE_STATES, { description: 'uploading: bytes still arriving (resumable); stored: complete and checked' }),
  contentType: Type.Union([Type.String(), Type.Null()], {
    description: 'What the bytes are (read from them, not from what the device said); null while uploading',
  }),
  declaredType: Type.Union([Type.String(), Type.Null()], { description: 'The type the device declared' }),
  createdAt: Timestamp,
  storedAt: NullableTimestamp,
  url: Type.Union([Type.String(), Type.Null()], {
    description: 'A signed path that serves the bytes (Range, for players and thumbnails) with no other credential until it expires; null while uploading',
  }),
});
export type DeviceFile = Static<typeof DeviceFile>;

export const DeviceFilePage = Page(DeviceFile);
export type DeviceFilePage = Static<typeof DeviceFilePage>;

export const FileQuery = Type.Object({
  deviceId: Type.Optional(Type.String()),
  state: Type.Optional(Type.Enum(FILE_STATES)),
  type: Type.Optional(Type.String({ maxLength: 100, description: 'content type or its prefix, e.g. `video/`' })),
  from: Type.Optional(Type.String({ description: 'created at or after' })),
  to: Type.Optional(Type.String({ description: 'created at or before' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  offset: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type FileQuery = Static<typeof FileQuery>;

export const FileUsage = Type.Object({
  usedBytes: Type.Integer({ description: 'Stored files and the declared sizes of uploads in progress' }),
  quotaBytes: Type.Integer(),
  maxFileBytes: Type.Integer(),
  retentionDays: Type.Integer({ description: 'Stored files older than this are deleted; 0 keeps them' }),
});
export type FileUsage = Static<typeof FileUsage>;

/** A file an event names, whether or not it has arrived yet. */
export const EventFile = Type.Object({
  name: FileName,
  file: Type.Union([DeviceFile, Type.Null()], { description: "The device's file of that name; null until the device starts uploading it" }),
});
export type EventFile = Static<typeof EventFile>;

export const ContentQuery = Type.Object({ token: Type.String({ description: "The signed token of the file's `url`" }) });

titled({ DeviceFile, DeviceFilePage, FileUsage, EventFile });
