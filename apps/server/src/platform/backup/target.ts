/**
 * Where a backup goes and comes from: a local file, or `s3://bucket/key` through the file
 * storage's S3 client (multipart, streamed; GCS through its interoperability endpoint).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough, type Writable } from 'node:stream';
import { SAFE_KEY } from '../storage/file-storage.js';
import { S3FileStorage, type S3StorageOptions } from '../storage/s3-storage.js';
import { BackupError } from './archive.js';

export type BackupTarget = { kind: 'file'; path: string } | { kind: 's3'; bucket: string; key: string };

export function parseTarget(arg: string): BackupTarget {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(arg)?.[1];
  if (scheme === undefined) return { kind: 'file', path: path.resolve(arg) };
  if (scheme !== 's3') {
    throw new BackupError(
      `${arg}: a target is a local path or s3://bucket/key (Google Cloud Storage too, through TETHER_S3_ENDPOINT=https://storage.googleapis.com)`,
    );
  }
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(arg);
  if (!m) throw new BackupError(`${arg}: write an S3 target as s3://bucket/key`);
  const key = m[2]!;
  if (!SAFE_KEY.test(key) || key.includes('..')) throw new BackupError(`${arg}: use letters, digits and / . _ - in the key`);
  return { kind: 's3', bucket: m[1]!, key };
}

export const describeTarget = (t: BackupTarget) => (t.kind === 'file' ? t.path : `s3://${t.bucket}/${t.key}`);

/** The S3 connection settings (endpoint, region, credentials, path style) for a bucket named by a target. */
export type S3Connection = Omit<S3StorageOptions, 'bucket' | 'prefix'>;

function bucketOf(t: Extract<BackupTarget, { kind: 's3' }>, s3: S3Connection): S3FileStorage {
  return new S3FileStorage({ ...s3, bucket: t.bucket, prefix: '' });
}

/**
 * A sink for the archive, and `done()`, which resolves once it is durably in place: a local
 * file appears under its name only when complete (written beside it, then renamed); an S3
 * object only when its multipart upload completes. `abort()` leaves nothing behind.
 */
export function openSink(t: BackupTarget, s3: S3Connection): { stream: Writable; done(): Promise<void>; abort(): Promise<void> } {
  if (t.kind === 'file') {
    fs.mkdirSync(path.dirname(t.path), { recursive: true });
    const partial = `${t.path}.partial-${randomBytes(4).toString('hex')}`;
    const stream = fs.createWriteStream(partial, { mode: 0o600 });
    const closed = new Promise<void>((resolve, reject) => {
      stream.once('close', resolve);
      stream.once('error', reject);
    });
    // An aborted backup's stream error is the pipeline's to report.
    closed.catch(() => {});
    return {
      stream,
      async done() {
        await closed;
        await fs.promises.rename(partial, t.path);
      },
      async abort() {
        stream.destroy();
        await fs.promises.rm(partial, { force: true });
      },
    };
  }
  const bucket = bucketOf(t, s3);
  const body = new PassThrough();
  const uploaded = bucket.put(t.key, body);
  // A failure of the upload ends the archive's pipeline too.
  uploaded.catch((err: unknown) => body.destroy(err as Error));
  return {
    stream: body,
    async done() {
      await uploaded.finally(() => bucket.close());
    },
    async abort() {
      body.destroy(new Error('backup aborted'));
      await uploaded.catch(() => {});
      bucket.close();
    },
  };
}

/** The backup's bytes and their count (for the progress percentage); null when it does not exist. */
export async function openSource(t: BackupTarget, s3: S3Connection): Promise<{ stream: AsyncIterable<Buffer>; size: number | null; close(): void }> {
  if (t.kind === 'file') {
    let size: number;
    try {
      size = (await fs.promises.stat(t.path)).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new BackupError(`${t.path}: no such file`);
      throw err;
    }
    const stream = fs.createReadStream(t.path, { highWaterMark: 1 << 20 });
    return { stream, size, close: () => stream.destroy() };
  }
  const bucket = bucketOf(t, s3);
  const size = await bucket.size(t.key);
  const stream = size === null ? null : await bucket.get(t.key);
  if (!stream) {
    bucket.close();
    throw new BackupError(`s3://${t.bucket}/${t.key}: no such object`);
  }
  return {
    stream,
    size,
    close() {
      stream.destroy();
      bucket.close();
    },
  };
}
