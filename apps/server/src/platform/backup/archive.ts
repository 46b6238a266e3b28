/**
 * A Tether backup: a gzipped tar whose first entry is manifest.json (what made it, the schema
 * migrations, table row counts, every other entry's size and sha256), then the entries it
 * lists. Reading checks each entry against the manifest as it streams, so a cut or altered
 * backup is refused before anything it holds is used.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { END_OF_ARCHIVE, TarFormatError, TarTruncatedError, directoryHeader, fileHeader, padding, readTar, type TarEntry } from './tar.js';

export const BACKUP_FORMAT = 'tether-backup';
export const BACKUP_FORMAT_VERSION = 1;
const MANIFEST = 'manifest.json';
const MANIFEST_MAX_BYTES = 64 * 1024 * 1024;

export interface ManifestEntry {
  path: string;
  size: number;
  sha256: string;
}

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  formatVersion: number;
  tetherVersion: string;
  engine: 'pglite' | 'postgres';
  createdAt: string;
  /** How the database is held: PGlite's data directory (database/pgdata/…), or a pg_dump custom-format file (database/dump.pgc). */
  database: { kind: 'pglite-data-dir' } | { kind: 'pg_dump-custom'; serverVersion: string; pgDumpVersion: string };
  /** schema_migrations at the snapshot, oldest first. */
  migrations: string[];
  /** Rows per table of the public schema at the snapshot. */
  tables: Record<string, number>;
  /** Stored files: copied under files/ (local disk), or left in their bucket. */
  files: { storage: 'local'; count: number; bytes: number } | { storage: 's3'; bucket: string; prefix: string; copied: false };
  /** Whether the data dir's jwt-master.key is in the backup (only when asked for). */
  jwtKeyFile: boolean;
  /** Every directory, empty ones included (a PostgreSQL data dir needs its empty pg_* directories). */
  directories: string[];
  entries: ManifestEntry[];
}

/** A backup that cannot be used; the message is the one line an operator reads. */
export class BackupError extends Error {}

export interface Progress {
  /** Bytes done so far, of `total` when known. */
  bytes(done: number, total: number | null): void;
}

/** The entries of a staged directory, sized and hashed, in the order they go into the archive. */
export async function describeEntries(root: string, paths: string[]): Promise<ManifestEntry[]> {
  const out: ManifestEntry[] = [];
  for (const p of paths) {
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of chunksOf(path.join(root, p))) {
      hash.update(chunk);
      size += chunk.length;
    }
    out.push({ path: p, size, sha256: hash.digest('hex') });
  }
  return out;
}

/** Files up to this size are read in one call: a data dir has thousands of small ones, and a stream each costs a millisecond. */
const READ_WHOLE_BYTES = 1 << 20;

async function* chunksOf(file: string): AsyncGenerator<Buffer> {
  if ((await fs.promises.stat(file)).size <= READ_WHOLE_BYTES) {
    yield await fs.promises.readFile(file);
    return;
  }
  for await (const chunk of fs.createReadStream(file, { highWaterMark: READ_WHOLE_BYTES })) yield chunk as Buffer;
}

/** Every regular file under `dir`, as paths relative to `root` with forward slashes, sorted. */
export function filesUnder(root: string, dir: string): string[] {
  const abs = path.join(root, dir);
  if (!fs.existsSync(abs)) return [];
  return fs
    .readdirSync(abs, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? filesUnder(root, `${dir}/${e.name}`) : e.isFile() ? [`${dir}/${e.name}`] : []))
    .sort();
}

/** Every directory under `dir` (itself included), relative to `root`, parents first. */
export function directoriesUnder(root: string, dir: string): string[] {
  const abs = path.join(root, dir);
  if (!fs.existsSync(abs)) return [];
  return [
    dir,
    ...fs
      .readdirSync(abs, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .sort((x, y) => x.name.localeCompare(y.name))
      .flatMap((e) => directoriesUnder(root, `${dir}/${e.name}`)),
  ];
}

/** Streams the archive (manifest first, then its entries from `root`) into `sink`, gzipped. */
export async function writeArchive(manifest: BackupManifest, root: string, sink: Writable, progress: Progress): Promise<{ bytes: number }> {
  const manifestBytes = Buffer.from(JSON.stringify(manifest, null, 2));
  const total = manifest.entries.reduce((n, e) => n + e.size, manifestBytes.length);
  let done = 0;
  async function* tar(): AsyncGenerator<Buffer> {
    yield fileHeader(MANIFEST, manifestBytes.length);
    yield manifestBytes;
    yield padding(manifestBytes.length);
    done += manifestBytes.length;
    for (const d of manifest.directories) yield directoryHeader(d);
    for (const e of manifest.entries) {
      yield fileHeader(e.path, e.size);
      let written = 0;
      for await (const chunk of chunksOf(path.join(root, e.path))) {
        written += chunk.length;
        done += chunk.length;
        progress.bytes(done, total);
        yield chunk;
      }
      // The staged copy is this process's own: a change would be a bug, not a race.
      if (written !== e.size) throw new Error(`${e.path} changed while it was archived`);
      yield padding(e.size);
    }
    yield END_OF_ARCHIVE;
  }
  let bytes = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      cb(null, chunk);
    },
  });
  await pipeline(Readable.from(tar()), zlib.createGzip({ level: 3 }), count, sink);
  return { bytes };
}

const truncated = (detail: string) => new BackupError(`the backup is truncated: ${detail}`);
const FOREIGN = 'not a Tether backup';

/** The raw bytes, checked to be gzip, unzipped; zlib's complaints become the operator's words. */
async function* gunzipped(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done || first.value.length < 2 || first.value[0] !== 0x1f || first.value[1] !== 0x8b)
    throw new BackupError(`${FOREIGN} (it is not a gzipped tar archive)`);
  const rest = async function* () {
    yield first.value;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  };
  const gunzip = zlib.createGunzip();
  const input = Readable.from(rest());
  input.on('error', (err) => gunzip.destroy(err));
  input.pipe(gunzip);
  try {
    for await (const chunk of gunzip) yield chunk as Buffer;
  } catch (err) {
    if (err instanceof BackupError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'Z_BUF_ERROR') throw truncated('its compressed stream ends early');
    if (code === 'Z_DATA_ERROR') throw new BackupError(`the backup is damaged: its compressed stream is corrupt (${(err as Error).message})`);
    throw err;
  } finally {
    input.destroy();
  }
}

async function collect(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of body) parts.push(b);
  return Buffer.concat(parts);
}

function parseManifest(bytes: Buffer): BackupManifest {
  let m: Partial<BackupManifest>;
  try {
    m = JSON.parse(bytes.toString('utf8')) as Partial<BackupManifest>;
  } catch {
    throw new BackupError(`${FOREIGN} (its manifest is not JSON)`);
  }
  if (m.format !== BACKUP_FORMAT) throw new BackupError(`${FOREIGN} (its manifest names no Tether backup format)`);
  if (typeof m.formatVersion !== 'number' || m.formatVersion > BACKUP_FORMAT_VERSION) {
    throw new BackupError(
      `the backup was made by a newer Tether (${m.tetherVersion ?? '?'}, backup format ${m.formatVersion}); this one reads format ${BACKUP_FORMAT_VERSION}`,
    );
  }
  if (!Array.isArray(m.entries) || !Array.isArray(m.directories) || !Array.isArray(m.migrations) || (m.engine !== 'pglite' && m.engine !== 'postgres')) {
    throw new BackupError(`${FOREIGN} (its manifest is incomplete)`);
  }
  return m as BackupManifest;
}

/** A path from an archive that stays inside the directory it is extracted to. */
function safeRelative(p: string): boolean {
  return p !== '' && !p.startsWith('/') && !p.split('/').some((s) => s === '..' || s === '');
}

export interface OpenedBackup {
  manifest: BackupManifest;
  /**
   * Writes every entry under `dest` (which must exist), checking each against the manifest;
   * throws BackupError on a missing, cut, extra or altered entry.
   */
  extractTo(dest: string): Promise<void>;
}

/** Reads the manifest off the front of a backup stream; the rest is read by extractTo. */
export async function openBackup(source: AsyncIterable<Buffer>, progress: Progress, total: number | null): Promise<OpenedBackup> {
  let read = 0;
  const counted = async function* () {
    for await (const chunk of source) {
      read += chunk.length;
      progress.bytes(read, total);
      yield chunk;
    }
  };
  const entries = readTar(gunzipped(counted()));
  const next = async (): Promise<TarEntry | null> => {
    try {
      const r = await entries.next();
      return r.done ? null : r.value;
    } catch (err) {
      throw asBackupError(err);
    }
  };
  const first = await next().catch((err: unknown) => {
    if (err instanceof BackupError && err.message.startsWith('the backup is truncated') && read < 1024)
      throw new BackupError(`${FOREIGN} (it is empty or nearly so)`);
    throw err;
  });
  if (!first || first.path !== MANIFEST) throw new BackupError(`${FOREIGN} (it does not begin with a Tether manifest)`);
  if (first.size > MANIFEST_MAX_BYTES) throw new BackupError(`${FOREIGN} (its manifest is too large)`);
  const manifest = parseManifest(await collect(first.body).catch((err: unknown) => Promise.reject(asBackupError(err))));
  for (const p of [...manifest.directories, ...manifest.entries.map((e) => e.path)]) {
    if (!safeRelative(p)) throw new BackupError(`the backup is damaged: it names an unsafe path ${JSON.stringify(p)}`);
  }
  return {
    manifest,
    async extractTo(dest: string) {
      // Owner-only, like the data dir it came from: a backup holds every secret's hash.
      for (const d of manifest.directories) fs.mkdirSync(path.join(dest, d), { recursive: true, mode: 0o700 });
      for (const expected of manifest.entries) {
        const entry = await next();
        if (!entry) throw truncated(`${expected.path} and what follows it are missing`);
        if (entry.path !== expected.path) throw new BackupError(`the backup is damaged: found ${entry.path} where the manifest lists ${expected.path}`);
        if (entry.size !== expected.size) throw truncated(`${entry.path} holds ${entry.size} bytes, the manifest says ${expected.size}`);
        const file = path.join(dest, entry.path);
        fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
        const hash = createHash('sha256');
        const hashed = async function* () {
          for await (const b of entry.body) {
            hash.update(b);
            yield b;
          }
        };
        try {
          if (entry.size <= READ_WHOLE_BYTES) await fs.promises.writeFile(file, await collect(hashed()), { mode: 0o600 });
          else await pipeline(Readable.from(hashed()), fs.createWriteStream(file, { mode: 0o600 }));
        } catch (err) {
          throw asBackupError(err);
        }
        if (hash.digest('hex') !== expected.sha256) throw new BackupError(`the backup is damaged: ${entry.path} does not match its sha256 in the manifest`);
      }
      const extra = await next();
      if (extra) throw new BackupError(`the backup is damaged: ${extra.path} is not in its manifest`);
    },
  };
}

function asBackupError(err: unknown): Error {
  if (err instanceof BackupError) return err;
  if (err instanceof TarTruncatedError) return truncated(err.message);
  if (err instanceof TarFormatError) return new BackupError(`${FOREIGN} (${err.message})`);
  return err as Error;
}
