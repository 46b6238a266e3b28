import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';

/** Where files (photos, uploads) live: local disk now; S3-compatible storage implements the same. */
export interface FileStorage {
  put(key: string, body: Buffer | Readable): Promise<number>;
  get(key: string): Readable | null;
  delete(key: string): Promise<void>;
}

const SAFE_KEY = /^[a-z0-9][a-z0-9/._-]*$/i;

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
    // Write to a temp file and rename, so a reader never sees half a file.
    const tmp = `${file}.${process.pid}.tmp`;
    if (Buffer.isBuffer(body)) await fs.promises.writeFile(tmp, body);
    else await pipeline(body, fs.createWriteStream(tmp));
    await fs.promises.rename(tmp, file);
    return (await fs.promises.stat(file)).size;
  }

  get(key: string): Readable | null {
    const file = this.file(key);
    return fs.existsSync(file) ? fs.createReadStream(file) : null;
  }

  async delete(key: string): Promise<void> {
    await fs.promises.rm(this.file(key), { force: true });
  }
}
