/**
 * Firmware (issue 14): a version described for a device template, then its
 * file uploaded. The API client has no helpers for these routes yet, so they
 * are called through `client.request`, typed from the OpenAPI document.
 */
import type { BodyOf, ResponseOf, TetherClient } from '@tether/api-client';
import type { DashboardClient, UploadOptions } from '../../app/dashboard-client';

export type Firmware = ResponseOf<'/api/v1/firmware/{id}', 'get'>;
export type FirmwareInput = BodyOf<'/api/v1/firmware', 'post'>;

/** The server's rules for a version and a declared sha256. */
export const FIRMWARE_VERSION = /^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$/;
export const SHA256 = /^[0-9a-fA-F]{64}$/;

export const listFirmware = (client: TetherClient, templateId?: string) =>
  client.request<ResponseOf<'/api/v1/firmware', 'get'>>('GET', '/api/v1/firmware', undefined, { templateId });
export const createFirmware = (client: TetherClient, input: FirmwareInput) => client.request<Firmware>('POST', '/api/v1/firmware', input);
export const deleteFirmware = (client: TetherClient, id: string) => client.request<void>('DELETE', `/api/v1/firmware/${id}`);

/** Streams the file to the server (PUT …/artifact), reporting progress; the server computes size and sha256. */
export const uploadFirmware = (client: DashboardClient, id: string, file: Blob, opts: UploadOptions) =>
  client.upload<Firmware>(`/api/v1/firmware/${id}/artifact`, file, opts);

/** A signed link that downloads the artifact with no other credential, for an hour. */
export const firmwareDownloadLink = (client: TetherClient, id: string) =>
  client.request<ResponseOf<'/api/v1/firmware/{id}/download-link', 'post'>>('POST', `/api/v1/firmware/${id}/download-link`, {});
