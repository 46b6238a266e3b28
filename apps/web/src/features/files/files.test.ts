import { describe, expect, it } from 'vitest';
import { attachmentProgress, fileKind } from './files';

describe('fileKind', () => {
  it('goes by the type read from the bytes, not what the device declared', () => {
    expect(fileKind({ contentType: 'video/webm', declaredType: 'image/png' })).toBe('video');
    expect(fileKind({ contentType: 'image/png', declaredType: null })).toBe('image');
    expect(fileKind({ contentType: 'audio/ogg', declaredType: null })).toBe('audio');
    expect(fileKind({ contentType: 'application/octet-stream', declaredType: 'video/mp4' })).toBe('other');
  });
  it('uses the declared type while uploading, and treats an unknown type as a download', () => {
    expect(fileKind({ contentType: null, declaredType: 'video/mp4' })).toBe('video');
    expect(fileKind({ contentType: null, declaredType: null })).toBe('other');
  });
});

describe('attachmentProgress', () => {
  it('is pending until every named file is stored', () => {
    expect(attachmentProgress([{ file: null }, { file: { state: 'uploading' } }, { file: { state: 'stored' } }])).toEqual({
      stored: 1,
      total: 3,
      pending: true,
    });
    expect(attachmentProgress([{ file: { state: 'stored' } }])).toEqual({ stored: 1, total: 1, pending: false });
    expect(attachmentProgress([])).toEqual({ stored: 0, total: 0, pending: false });
  });
});
