import { Type, type Static } from 'typebox';
import { NullableTimestamp, Timestamp, Uuid } from '../../platform/http/schemas.js';

const Sha256 = Type.String({ pattern: '^[0-9a-fA-F]{64}$', description: 'SHA-256 of the artifact, 64 hex digits' });

export const FirmwareInput = Type.Object(
  {
    templateId: Type.String({ description: 'The device template the firmware is built for; only devices of it can get it' }),
    version: Type.String({
      minLength: 1,
      maxLength: 64,
      pattern: '^[0-9A-Za-z][0-9A-Za-z.+_-]*$',
      description: 'As devices report it in fw_version (semantic versions compare as such in fleet selectors), e.g. 2.1.0',
    }),
    releaseNotes: Type.Optional(Type.String({ maxLength: 20_000 })),
    sha256: Type.Optional({ ...Sha256, description: 'If given, an upload whose bytes do not hash to it is refused (FIRMWARE_CHECKSUM_MISMATCH)' }),
  },
  { additionalProperties: false },
);
export type FirmwareInput = Static<typeof FirmwareInput>;

export const Firmware = Type.Object({
  id: Uuid,
  templateId: Uuid,
  version: Type.String(),
  releaseNotes: Type.String(),
  declaredSha256: Type.Union([Type.String(), Type.Null()], { description: 'The sha256 declared when the firmware was described' }),
  uploaded: Type.Boolean({ description: 'Whether the artifact is stored; only then can it be downloaded or deployed' }),
  size: Type.Union([Type.Integer(), Type.Null()], { description: 'Bytes, computed on upload' }),
  sha256: Type.Union([Type.String(), Type.Null()], { description: 'Computed on upload' }),
  uploadedAt: NullableTimestamp,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Firmware = Static<typeof Firmware>;

export const FirmwareList = Type.Object({ items: Type.Array(Firmware) });

export const FirmwareQuery = Type.Object({ templateId: Type.Optional(Type.String()) }, { additionalProperties: false });

export const DownloadLinkInput = Type.Object(
  { ttlSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 7 * 24 * 3600, description: 'How long the link works; default 1 hour' })) },
  { additionalProperties: false },
);

export const DownloadLink = Type.Object({
  url: Type.String({ description: 'Path (on this server) that downloads the artifact without any other credential, with Range support' }),
  expiresAt: Timestamp,
});
export type DownloadLink = Static<typeof DownloadLink>;

export const DownloadQuery = Type.Object({ token: Type.String({ description: 'The signed token of a download link' }) });
