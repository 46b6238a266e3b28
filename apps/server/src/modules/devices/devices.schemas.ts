import type { Readable } from 'node:stream';
import { Type, type Static } from 'typebox';
import { JsonObject, NullableTimestamp, Page, Timestamp, Uuid, titled } from '../../platform/http/schemas.js';

export const DeviceStatus = Type.Object({
  online: Type.Boolean({ description: 'Connected to the MQTT broker (TCP or WebSocket) right now' }),
  active: Type.Boolean({ description: 'Sent a message within its inactivity timeout' }),
  lastSeenAt: Type.Union([Timestamp, Type.Null()], { description: 'Its last message; null: never seen' }),
  firstSeenAt: Type.Union([Timestamp, Type.Null()], { description: 'Its first message; null: never seen' }),
  lastConnectedAt: NullableTimestamp,
  lastDisconnectedAt: NullableTimestamp,
  inactivityTimeoutS: Type.Integer({
    description: "The inactivity timeout in effect, in seconds: the device's own, else its project's, else the server default",
  }),
});
export type DeviceStatus = Static<typeof DeviceStatus>;

export const DeviceLocation = Type.Object(
  { lat: Type.Number(), lon: Type.Number(), at: Type.String({ format: 'date-time', description: 'When the device was there' }) },
  { description: 'The last reported position' },
);

export const Device = Type.Object({
  id: Uuid,
  orgId: Uuid,
  projectId: Type.Union([Uuid, Type.Null()]),
  name: Type.String(),
  type: Type.String({ description: 'Free-form device type, e.g. a model; empty when not set' }),
  tags: Type.Array(Type.String()),
  metadata: JsonObject,
  firmwareVersion: Type.Union([Type.String(), Type.Null()], { description: 'The last reported `fw_version` attribute' }),
  templateId: Type.Union([Uuid, Type.Null()]),
  photoUrl: Type.Union([Type.String(), Type.Null()], { description: 'Set when the device has a photo: GET it for the image' }),
  inactivityTimeoutS: Type.Union([Type.Integer(), Type.Null()], {
    description: "Seconds without a message before the device counts as inactive; null: its project's or the server default (see status)",
  }),
  status: DeviceStatus,
  location: Type.Union([DeviceLocation, Type.Null()]),
  retired: Type.Union([Type.Object({ at: Timestamp, reason: Type.String() }), Type.Null()], {
    description: 'Set when an operator retired the device: its lifespan ended then (fleet health)',
  }),
  serial: Type.Union([Type.String(), Type.Null()], {
    description: 'Serial number or IMEI, unique in the org; provisioning and IMEI login find the device by it',
  }),
  claim: Type.Union([Type.Object({ claimedAt: NullableTimestamp }), Type.Null()], {
    description: 'Set when the device has a claim code: claimedAt null means unclaimed (no project) until someone enters the code',
  }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Device = Static<typeof Device>;

export const DevicePage = Page(Device);

/** A device found by a search text (GET /search), with what of it contains the text. */
export const DeviceMatch = Type.Object({
  id: Uuid,
  name: Type.String(),
  serial: Type.Union([Type.String(), Type.Null()]),
  projectId: Type.Union([Uuid, Type.Null()]),
  online: Type.Boolean(),
  matched: Type.Object({
    field: Type.Union(
      [Type.Literal('id'), Type.Literal('name'), Type.Literal('serial'), Type.Literal('tag'), Type.Literal('metadata'), Type.Literal('property')],
      {
        description: 'id: the text is the id or its start; tag, metadata, property: one of them contains it; otherwise that field contains it',
      },
    ),
    text: Type.String({ description: 'What contains the text: the id, name or serial, the tag, `path: value` of the metadata, `name: value` of the property' }),
  }),
});
export type DeviceMatch = Static<typeof DeviceMatch>;

/** A device's last known position, for the fleet map. */
export const DevicePosition = Type.Object({
  id: Uuid,
  name: Type.String(),
  projectId: Type.Union([Uuid, Type.Null()]),
  online: Type.Boolean({ description: 'Connected to the MQTT broker right now' }),
  lastSeenAt: NullableTimestamp,
  lat: Type.Number(),
  lon: Type.Number(),
  at: Type.String({ format: 'date-time', description: 'When the device was there' }),
});
export type DevicePosition = Static<typeof DevicePosition>;

export const DevicePositions = Type.Object({
  items: Type.Array(DevicePosition, { description: 'Devices that reported a position, by id' }),
  next: Type.Union([Type.String(), Type.Null()], { description: 'More devices have a position: ask again with after=<next>; null: this is all of them' }),
});
export type DevicePositions = Static<typeof DevicePositions>;

export const DevicePositionsQuery = Type.Object(
  {
    projectId: Type.Optional(Type.String({ description: 'Only the devices of this project' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 5000 })),
    after: Type.Optional(Type.String({ description: 'The cursor `next` of the previous page' })),
  },
  { additionalProperties: false },
);

const AccessToken = Type.String({ description: 'The device access token (dt_…): shown once, only its hash is stored' });

export const CreatedDevice = Type.Object({
  ...Device.properties,
  token: AccessToken,
  claimCode: Type.Optional(Type.String({ description: 'The claim code for its label (asked with claimCode: true): shown once, only its hash is stored' })),
});

export const ClaimRequest = Type.Object(
  {
    code: Type.String({ minLength: 1, maxLength: 64, description: 'The code on the device label; case, spaces and dashes do not matter' }),
    projectId: Type.String({ description: 'A project of your org' }),
  },
  { additionalProperties: false },
);
export type ClaimRequest = Static<typeof ClaimRequest>;

export const DeviceCredentials = Type.Object({ deviceId: Uuid, token: AccessToken });
export type DeviceCredentials = Static<typeof DeviceCredentials>;

export const DeviceJwt = Type.Object({
  token: Type.String({ description: 'A device JWT: the device may use it in place of its access token' }),
  deviceId: Uuid,
  expiresAt: Timestamp,
});
export type DeviceJwt = Static<typeof DeviceJwt>;

export const DeviceJwtVerification = Type.Object({
  valid: Type.Boolean({
    description: 'False when the JWT is malformed, expired, badly signed, or its device was deleted or had its credentials rotated or revoked since',
  }),
  deviceId: Type.Union([Uuid, Type.Null()], { description: 'The device it identifies; null unless valid' }),
  expiresAt: Type.Union([Timestamp, Type.Null()], { description: 'null unless valid' }),
});
export type DeviceJwtVerification = Static<typeof DeviceJwtVerification>;

/** The photo types a device photo may have: the upload is refused unless its bytes are one of them. */
export const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/gif'];

/**
 * The photo as stored, in the type it was uploaded with: not JSON, so the content-type form.
 * Its bytes are streamed from storage (typed so for the handler; the document says binary).
 */
export const DevicePhoto = {
  description: 'The photo, in the type it was uploaded with',
  content: Object.fromEntries(IMAGE_TYPES.map((t) => [t, { schema: Type.Unsafe<Readable>(Type.String({ format: 'binary' })) }])),
};

titled({
  DeviceStatus,
  DeviceLocation,
  Device,
  DevicePage,
  DeviceMatch,
  CreatedDevice,
  ClaimRequest,
  DeviceCredentials,
  DeviceJwt,
  DeviceJwtVerification,
  DevicePosition,
  DevicePositions,
});
