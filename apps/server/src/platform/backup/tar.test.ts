/** The archive format against GNU tar: what Tether writes, tar lists; a long path (pax) and an empty directory survive the round trip. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BACKUP_FORMAT,
  BACKUP_FORMAT_VERSION,
  describeEntries,
  directoriesUnder,
  filesUnder,
  openBackup,
  writeArchive,
  type BackupManifest,
} from './archive.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-tar-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('backup archive', () => {
  it('round-trips long paths, empty directories and a 3 MiB file, and GNU tar reads it', async () => {
    const src = path.join(tmp, 'src');
    const deep = `files/${'a'.repeat(60)}/${'b'.repeat(60)}`;
    fs.mkdirSync(path.join(src, deep), { recursive: true });
    fs.mkdirSync(path.join(src, 'database/pgdata/pg_tblspc'), { recursive: true });
    fs.writeFileSync(path.join(src, deep, 'clip.mp4'), Buffer.alloc(3 * 1024 * 1024, 7));
    fs.writeFileSync(path.join(src, 'database/pgdata/PG_VERSION'), '17\n');
    const paths = [...filesUnder(src, 'database'), ...filesUnder(src, 'files')];
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      formatVersion: BACKUP_FORMAT_VERSION,
      tetherVersion: 'test',
      engine: 'pglite',
      createdAt: new Date().toISOString(),
      database: { kind: 'pglite-data-dir' },
      migrations: [],
      tables: {},
      files: { storage: 'local', count: 1, bytes: 3 * 1024 * 1024 },
      jwtKeyFile: false,
      directories: [...directoriesUnder(src, 'database'), ...directoriesUnder(src, 'files')],
      entries: await describeEntries(src, paths),
    };
    const file = path.join(tmp, 'b.tar.gz');
    await writeArchive(manifest, src, fs.createWriteStream(file), { bytes: () => {} });

    const listed = execFileSync('tar', ['tzf', file], { encoding: 'utf8' }).trim().split('\n');
    expect(listed[0]).toBe('manifest.json');
    expect(listed).toContain(`${deep}/clip.mp4`);
    expect(listed).toContain('database/pgdata/pg_tblspc/');

    const dest = path.join(tmp, 'dest');
    fs.mkdirSync(dest);
    const opened = await openBackup(fs.createReadStream(file), { bytes: () => {} }, null);
    await opened.extractTo(dest);
    expect(fs.readFileSync(path.join(dest, deep, 'clip.mp4')).equals(Buffer.alloc(3 * 1024 * 1024, 7))).toBe(true);
    expect(fs.statSync(path.join(dest, 'database/pgdata/pg_tblspc')).isDirectory()).toBe(true);
  });
});
