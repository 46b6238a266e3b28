/**
 * A consistent copy of an embedded (PGlite) data dir: its database files and its stored files.
 *
 * The database is held by one process, the running server, in its own memory. So `tether
 * backup` asks that server, over a unix socket in the data dir (reachable by whoever may read
 * the data dir anyway), to take the snapshot: it checkpoints, holds every statement back, copies
 * pgdata (a reflink where the file system has them) and hard-links the stored files (written
 * once, replaced by rename, so a link keeps the version it saw), then lets statements run again.
 * Ingest waits for that copy; it never sees an error. With no server running, the CLI takes the
 * data dir's lock and copies it itself.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Database } from '../db/database.js';
import { lockDataDir } from '../db/pglite.js';
import type { Logger } from '../observability/logger.js';

export const SNAPSHOT_SOCKET = 'backup.sock';
/** Unix socket paths are limited to 107 bytes on Linux (sun_path). */
const SOCKET_PATH_MAX = 100;

/** Copies the tree `from` to `to`: each file reflinked when possible, else copied; or hard-linked. */
async function copyTree(from: string, to: string, how: 'copy' | 'link', skip: (name: string) => boolean = () => false): Promise<number> {
  if (!fs.existsSync(from)) return 0;
  let n = 0;
  await fs.promises.mkdir(to, { recursive: true });
  for (const e of await fs.promises.readdir(from, { withFileTypes: true })) {
    if (skip(e.name)) continue;
    const src = path.join(from, e.name);
    const dst = path.join(to, e.name);
    if (e.isDirectory()) n += await copyTree(src, dst, how, skip);
    else if (e.isFile()) {
      try {
        if (how === 'link') await fs.promises.link(src, dst);
        else await fs.promises.copyFile(src, dst, fs.constants.COPYFILE_FICLONE);
        n++;
      } catch (err) {
        // A stored file deleted since the listing (retention, a user) is not part of the snapshot.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  }
  return n;
}

/** The temp files of LocalFileStorage.put (renamed into place when complete). */
const partialUpload = (name: string) => name.endsWith('.tmp');

/** Hard-links the stored files under `<dataDir>/files` into `<dest>/files`: instant, and immune to later deletes. */
export function linkStoredFiles(dataDir: string, dest: string): Promise<number> {
  return copyTree(path.join(dataDir, 'files'), path.join(dest, 'files'), 'link', partialUpload);
}

/** Copies the open database's files into `<dest>/database/pgdata` and links the stored files, all while statements are held. */
async function snapshotOpen(db: Database, dataDir: string, dest: string): Promise<void> {
  if (!db.holdWrites) throw new Error('not an embedded database');
  await db.holdWrites(async (pgdata) => {
    await copyTree(pgdata, path.join(dest, 'database', 'pgdata'), 'copy', (name) => name === 'postmaster.pid');
    await linkStoredFiles(dataDir, dest);
  });
}

/** A fresh staging directory inside the data dir (same file system, so links work). */
export function stagingDir(dataDir: string, what: 'backup' | 'restore'): string {
  fs.mkdirSync(dataDir, { recursive: true });
  return fs.mkdtempSync(path.join(dataDir, `.${what}-`));
}

/** The running server's side: answers `snapshot` on <dataDir>/backup.sock with the directory it wrote. */
export async function serveSnapshots(opts: { db: Database; dataDir: string; logger: Logger }): Promise<{ close(): Promise<void> }> {
  const socket = path.resolve(opts.dataDir, SNAPSHOT_SOCKET);
  if (Buffer.byteLength(socket) > SOCKET_PATH_MAX) {
    opts.logger.warn({ socket }, 'the data dir path is too long for a unix socket: `tether backup` works only while this server is stopped');
    return { close: async () => {} };
  }
  // This process holds the data dir's lock: a socket file left here is a dead server's.
  fs.rmSync(socket, { force: true });
  const server = net.createServer((conn) => {
    conn.setEncoding('utf8');
    let line = '';
    conn.on('data', (d: string) => {
      line += d;
      if (!line.includes('\n')) return;
      conn.pause();
      if (line.trim() !== 'snapshot') return void conn.end(`${JSON.stringify({ error: 'unknown request' })}\n`);
      const dest = stagingDir(opts.dataDir, 'backup');
      const started = performance.now();
      snapshotOpen(opts.db, opts.dataDir, dest).then(
        () => {
          opts.logger.info({ ms: Math.round(performance.now() - started) }, 'backup snapshot taken');
          conn.end(`${JSON.stringify({ dir: dest })}\n`);
        },
        (err: unknown) => {
          fs.rmSync(dest, { recursive: true, force: true });
          opts.logger.error({ err }, 'backup snapshot failed');
          conn.end(`${JSON.stringify({ error: (err as Error).message })}\n`);
        },
      );
    });
    conn.on('error', () => {});
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, () => resolve());
  });
  fs.chmodSync(socket, 0o600);
  return {
    async close() {
      await new Promise((r) => server.close(r));
      fs.rmSync(socket, { force: true });
    },
  };
}

/**
 * The CLI's side: a consistent copy of the data dir in a new staging directory, taken by the
 * running server when there is one, else here under the data dir's lock (a server starting
 * meanwhile waits for nothing: it finds the lock held and says so).
 */
export async function snapshotDataDir(dataDir: string): Promise<{ dir: string; via: 'running server' | 'stopped data dir' }> {
  if (!fs.existsSync(path.join(dataDir, 'pgdata', 'PG_VERSION'))) throw new Error(`${path.resolve(dataDir)} holds no Tether database (no pgdata)`);
  const socket = path.resolve(dataDir, SNAPSHOT_SOCKET);
  const answer = fs.existsSync(socket) ? await ask(socket).catch(() => null) : null;
  if (answer !== null) {
    if ('error' in answer) throw new Error(`the running server could not take the snapshot: ${answer.error}`);
    return { dir: answer.dir, via: 'running server' };
  }
  const unlock = lockDataDir(dataDir);
  const dest = stagingDir(dataDir, 'backup');
  try {
    // Nobody writes: a plain copy is consistent (crash-consistent if the last server was killed; opening it recovers).
    await copyTree(path.join(dataDir, 'pgdata'), path.join(dest, 'database', 'pgdata'), 'copy', (name) => name === 'postmaster.pid');
    await linkStoredFiles(dataDir, dest);
    return { dir: dest, via: 'stopped data dir' };
  } catch (err) {
    fs.rmSync(dest, { recursive: true, force: true });
    throw err;
  } finally {
    unlock();
  }
}

/** Null when nobody listens (a socket file left by a server that was killed). */
function ask(socket: string): Promise<{ dir: string } | { error: string }> {
  return new Promise((resolve, reject) => {
    const conn = net.connect(socket);
    let out = '';
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write('snapshot\n'));
    conn.on('data', (d: string) => (out += d));
    conn.on('error', reject);
    conn.on('end', () => {
      try {
        resolve(JSON.parse(out) as { dir: string } | { error: string });
      } catch {
        reject(new Error('no answer'));
      }
    });
  });
}
