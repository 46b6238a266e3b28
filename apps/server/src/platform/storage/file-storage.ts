import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';

/** Bytes `start` to `end` of a file, both included (an HTTP Range). */
export interface ByteRange {
  start: number;
  end: number;
}

/** Where files (photos, firmware) live: local disk (LocalFileStorage) or S3-compatible storage (S3FileStorage). */
export interface FileStorage {
  /** Stores the body under `key`, streamed; a reader never sees half a file. Returns its size. */
  put(key: string, body: Buffer | Readable): Promise<number>;
  /** The file's bytes (all, or a range), or null if there is no such file. */
  get(key: string, range?: ByteRange): Promise<Readable | null>;
  /** The file's size in bytes, or null if there is no such file. */
  size(key: string): Promise<number | null>;
  delete(key: string): Promise<void>;
  /**
   * Moves a finished local file (a resumable upload staged on this node's disk) into the
   * storage under `key`, and removes the local file: a rename on local disk, a streamed
   * multipart upload to a bucket. Returns its size.
   */
  adopt(key: string, localFile: string): Promise<number>;
}

export const SAFE_KEY = /^[a-z0-9][a-z0-9/._-]*$/i;

export class LocalFileStorage implements FileStorage {
  constructor(private readonly root: string) {
    fs.mkdirSync(root, { recursive: true });
  }

  private file(key: string): string {
    if (!SAFE_KEY.test(key) || key.includes('..')) throw new Error(`unsafe storage key ${key}`);
    return path.join(this.root, key);
  }

  async put(key: string, body: Buffer | Readable): Promise<number> {
    const file = this.file(key);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // Write to a temp file and rename, so a reader never sees half a file; a body that
    // fails midway (a dropped upload) leaves nothing behind.
    const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      if (Buffer.isBuffer(body)) await fs.promises.writeFile(tmp, body);
      else await pipeline(body, fs.createWriteStream(tmp));
      await fs.promises.rename(tmp, file);
    } catch (err) {
      await fs.promises.rm(tmp, { force: true });
      throw err;
    }
    return (await fs.promises.stat(file)).size;
  }

  async get(key: string, range?: ByteRange): Promise<Readable | null> {
    const file = this.file(key);
    return fs.existsSync(file) ? fs.createReadStream(file, range) : null;
  }

  async size(key: string): Promise<number | null> {
    try {
      return (await fs.promises.stat(this.file(key))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await fs.promises.rm(this.file(key), { force: true });
  }

  async adopt(key: string, localFile: string): Promise<number> {
    const file = this.file(key);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    try {
      await fs.promises.rename(localFile, file);
    } catch (err) {
      // Another file system (the staging directory mounted elsewhere): copy, then remove.
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      await this.put(key, fs.createReadStream(localFile));
      await fs.promises.rm(localFile, { force: true });
    }
    return (await fs.promises.stat(file)).size;
  }
}
