/** What the server accepts as a device photo (PUT /devices/{id}/photo). */
export const PHOTO_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/gif'];
export const PHOTO_MAX_BYTES = 5 * 1024 * 1024;

/** Why a file cannot be a device photo, or null when it can. */
export function photoProblem(file: { type: string; size: number }): string | null {
  if (!PHOTO_TYPES.includes(file.type)) return 'Choose a PNG, JPEG, WebP or GIF image.';
  if (file.size > PHOTO_MAX_BYTES) return `The image is ${(file.size / 1024 / 1024).toFixed(1)} MB; the limit is 5 MB.`;
  if (file.size === 0) return 'The file is empty.';
  return null;
}
