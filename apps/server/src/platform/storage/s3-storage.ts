import type { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, NoSuchKey, NotFound, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import fs from 'node:fs';
import { SAFE_KEY, type ByteRange, type FileStorage } from './file-storage.js';

export interface S3StorageOptions {
  bucket: string;
  /** Key prefix inside the bucket (e.g. `tether/`); empty by default. */
  prefix?: string;
  /** An S3-compatible server (MinIO, GCS interoperability, …); AWS when unset. */
  endpoint?: string | null;
  region?: string;
  /** Path-style URLs (`endpoint/bucket/key`), which most S3-compatible servers need. */
  forcePathStyle?: boolean;
  /** Static credentials; unset, the AWS SDK's default chain (environment, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string } | null;
}

/** Bytes in flight per upload: parts of this size, this many at once. */
const PART_BYTES = 8 * 1024 * 1024;
const PARTS_IN_FLIGHT = 2;

const missing = (err: unknown) =>
  err instanceof NoSuchKey || err instanceof NotFound || (err instanceof S3ServiceException && err.$metadata.httpStatusCode === 404);

/**
 * Files in an S3-compatible bucket: what a cluster uses, since every node reads
 * what any node stored. Uploads stream as multipart (at most PART_BYTES ×
 * PARTS_IN_FLIGHT held), and an object appears only once complete, so a reader
 * never sees half a file; an upload that fails midway is aborted and leaves
 * nothing.
 */
export class S3FileStorage implements FileStorage {
  private readonly client: S3Client;

  constructor(private readonly opts: S3StorageOptions) {
    this.client = new S3Client({
      region: opts.region ?? 'us-east-1',
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      forcePathStyle: opts.forcePathStyle ?? !!opts.endpoint,
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
    });
  }

  private key(key: string): string {
    if (!SAFE_KEY.test(key) || key.includes('..')) throw new Error(`unsafe storage key ${key}`);
    return `${this.opts.prefix ?? ''}${key}`;
  }

  async put(key: string, body: Buffer | Readable): Promise<number> {
    const Key = this.key(key);
    let size = 0;
    if (Buffer.isBuffer(body)) size = body.length;
    else body.on('data', (chunk: Buffer) => (size += chunk.length));
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.opts.bucket, Key, Body: body },
      partSize: PART_BYTES,
      queueSize: PARTS_IN_FLIGHT,
      leavePartsOnError: false,
    });
    await upload.done();
    return size;
  }

  async get(key: string, range?: ByteRange): Promise<Readable | null> {
    try {
      const r = await this.client.send(
        new GetObjectCommand({ Bucket: this.opts.bucket, Key: this.key(key), ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }),
      );
      return r.Body as Readable;
    } catch (err) {
      if (missing(err)) return null;
      throw err;
    }
  }

  async size(key: string): Promise<number | null> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.opts.bucket, Key: this.key(key) }));
      return r.ContentLength ?? null;
    } catch (err) {
      if (missing(err)) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.opts.bucket, Key: this.key(key) }));
  }

  async adopt(key: string, localFile: string): Promise<number> {
    const size = await this.put(key, fs.createReadStream(localFile));
    await fs.promises.rm(localFile, { force: true });
    return size;
  }

  /** Readiness: the bucket answers. */
  async ping(): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.opts.bucket, Key: `${this.opts.prefix ?? ''}.tether-ping` }));
      return true;
    } catch (err) {
      return missing(err);
    }
  }

  close(): void {
    this.client.destroy();
  }
}
