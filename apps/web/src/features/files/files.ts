/** What the dashboard shows of a device file: its kind (from the type the server read from its bytes) and its state. */
import type { DeviceFile } from '@tether/api-client';

export type FileKind = 'image' | 'video' | 'audio' | 'other';

/** The kind decides how a file is shown: a thumbnail, a player or a download link. */
export function fileKind(file: Pick<DeviceFile, 'contentType' | 'declaredType'>): FileKind {
  // The server's type, read from the bytes; while uploading only the device's word is known.
  const type = file.contentType ?? file.declaredType ?? '';
  if (type.startsWith('image/')) return 'image';
  if (type.startsWith('video/')) return 'video';
  if (type.startsWith('audio/')) return 'audio';
  return 'other';
}

/** The type filters of the files page: prefixes the API matches (`type=video/`). */
export const TYPE_FILTERS: { value: string; label: string }[] = [
  { value: '', label: 'All types' },
  { value: 'video/', label: 'Video' },
  { value: 'image/', label: 'Images' },
  { value: 'audio/', label: 'Audio' },
  { value: 'text/', label: 'Text' },
  { value: 'application/', label: 'Other (application/…)' },
];

/** An alert's attachments: how many are stored, and whether any is still to come (the page then polls). */
export function attachmentProgress(attachments: { file: Pick<DeviceFile, 'state'> | null }[]): { stored: number; total: number; pending: boolean } {
  const stored = attachments.filter((a) => a.file?.state === 'stored').length;
  return { stored, total: attachments.length, pending: stored < attachments.length };
}
