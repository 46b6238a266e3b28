import { describe, expect, it } from 'vitest';
import { PHOTO_MAX_BYTES, photoProblem } from './photo-file';

describe('photoProblem', () => {
  it('accepts the image types the server stores, up to 5 MB', () => {
    expect(photoProblem({ type: 'image/png', size: 1234 })).toBeNull();
    expect(photoProblem({ type: 'image/webp', size: PHOTO_MAX_BYTES })).toBeNull();
  });
  it('refuses other types, empty files and larger images, saying why', () => {
    expect(photoProblem({ type: 'image/svg+xml', size: 10 })).toMatch(/PNG, JPEG, WebP or GIF/);
    expect(photoProblem({ type: 'image/jpeg', size: 0 })).toMatch(/empty/);
    expect(photoProblem({ type: 'image/jpeg', size: 6 * 1024 * 1024 })).toBe('The image is 6.0 MB; the limit is 5 MB.');
  });
});
