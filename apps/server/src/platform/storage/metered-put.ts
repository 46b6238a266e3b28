import { createHash } from 'node:crypto';
import { pipeline, Transform, type Readable } from 'node:stream';
import type { FileStorage } from './file-storage.js';

/** The body passed `maxBytes`: the storage kept nothing of it. */
export class UploadTooLarge extends Error {
  constructor(readonly maxBytes: number) {
    super(`more than ${maxBytes} bytes`);
    this.name = 'UploadTooLarge';
  }
}

/** The body ended in an error (a dropped connection) after `bytes`: the storage kept nothing of it. */
export class UploadInterrupted extends Error {
  constructor(
    readonly bytes: number,
    cause: unknown,
  ) {
    super(`the upload ended after ${bytes} bytes: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'UploadInterrupted';
  }
}

/**
 * Streams `body` to the storage under `key`, never holding it: its size and
 * sha256 are counted on the way, and past `maxBytes` the write is abandoned
 * (the storage keeps nothing of a body that fails midway).
 */
export async function putMetered(storage: FileStorage, key: string, body: Readable, maxBytes: number): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  let tooLarge = false;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      if (size > maxBytes) {
        tooLarge = true;
        return cb(new UploadTooLarge(maxBytes));
      }
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  try {
    await storage.put(
      key,
      pipeline(body, meter, () => {}),
    );
  } catch (err) {
    if (tooLarge) throw new UploadTooLarge(maxBytes);
    throw new UploadInterrupted(size, err);
  }
  return { size, sha256: hash.digest('hex') };
}
