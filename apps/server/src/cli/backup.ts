/**
 * `tether backup <file | s3://bucket/key>` and `tether restore <file | s3://bucket/key>`: the
 * database (PGlite data dir, or pg_dump) and the stored files on local disk, in one archive
 * whose manifest lets restore refuse a cut, foreign or too-new backup before touching anything.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TetherConfig } from '../config/config.js';
import { SigningKeyMismatchError, SigningKeys } from '../modules/accounts/signing-keys.js';
import {
  BACKUP_FORMAT,
  BACKUP_FORMAT_VERSION,
  BackupError,
  describeEntries,
  directoriesUnder,
  filesUnder,
  openBackup,
  writeArchive,
  type BackupManifest,
} from '../platform/backup/archive.js';
import { linkStoredFiles, snapshotDataDir, stagingDir } from '../platform/backup/pglite-snapshot.js';
import { appliedMigrations, countRows } from '../platform/backup/census.js';
import { dumpPostgres, restorePostgres, userTableCount } from '../platform/backup/postgres-dump.js';
import { formatBytes, stageReporter } from '../platform/backup/progress.js';
import { describeTarget, openSink, openSource, parseTarget, type S3Connection } from '../platform/backup/target.js';
import { openDatabase, type Database } from '../platform/db/database.js';
import { MIGRATIONS_DIR, migrate } from '../platform/db/migrate.js';
import { lockDataDir, openPglite } from '../platform/db/pglite.js';
import { KEY_FILE, KeyFileError, loadMasterKey } from '../platform/security/key-encryption.js';

export interface BackupCommand {
  config: TetherConfig;
  /** How to reach a bucket named by an s3:// target. */
  s3: S3Connection;
  target: string;
  tetherVersion: string;
}

const DUMP = 'database/dump.pgc';
const seconds = (t0: number) => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
const rowsOf = (db: Pick<Database, 'query'>) => (sql: string) => db.query<Record<string, unknown>>(sql);

/** Removes a staging directory on every way out, Ctrl-C included. */
function staged(dir: string): { dir: string; remove(): void } {
  const remove = () => fs.rmSync(dir, { recursive: true, force: true });
  const onSignal = () => {
    remove();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    dir,
    remove() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      remove();
    },
  };
}

export async function backup(cmd: BackupCommand & { withJwtKeyFile: boolean }): Promise<void> {
  const { config } = cmd;
  const target = parseTarget(cmd.target);
  const report = stageReporter(process.stderr, 'tether backup');
  const t0 = performance.now();
  if (cmd.withJwtKeyFile && config.jwtSecret !== null) {
    throw new BackupError(
      '--with-jwt-key-file: TETHER_JWT_SECRET is set, so the signing keys are encrypted with it and the key file is not used; keep that secret apart',
    );
  }
  const keyFile = path.join(config.dataDir, KEY_FILE);
  if (cmd.withJwtKeyFile && !fs.existsSync(keyFile)) throw new BackupError(`--with-jwt-key-file: ${keyFile} does not exist`);

  let stage: { dir: string; remove(): void };
  let via = '';
  if (config.databaseUrl === null) {
    report.stage(`snapshot of the embedded database in ${path.resolve(config.dataDir)}`);
    const snap = await snapshotDataDir(config.dataDir);
    stage = staged(snap.dir);
    via = snap.via;
  } else {
    stage = staged(stagingDir(config.dataDir, 'backup'));
  }
  try {
    let database: BackupManifest['database'];
    let tables: Record<string, number>;
    let migrations: string[];
    if (config.databaseUrl === null) {
      report.stage(`snapshot taken (by the ${via}) in ${seconds(t0)}; counting its rows`);
      // The copy is a database of its own: opened here, it recovers to the snapshot's state and is read without touching the live one.
      const copy = await openPglite(path.join(stage.dir, 'database'));
      try {
        tables = await countRows(rowsOf(copy));
        migrations = await appliedMigrations(rowsOf(copy));
      } finally {
        await copy.close();
      }
      database = { kind: 'pglite-data-dir' };
    } else {
      fs.mkdirSync(path.join(stage.dir, 'database'));
      report.stage('pg_dump of the database (one MVCC snapshot: the cluster keeps running)');
      const dump = await dumpPostgres(config.databaseUrl, path.join(stage.dir, DUMP), async () => {
        if (config.s3 === null) await linkStoredFiles(config.dataDir, stage.dir);
      });
      tables = dump.tables;
      migrations = dump.migrations;
      database = { kind: 'pg_dump-custom', serverVersion: dump.serverVersion, pgDumpVersion: dump.pgDumpVersion };
    }
    if (cmd.withJwtKeyFile) fs.copyFileSync(keyFile, path.join(stage.dir, KEY_FILE));
    const dbPaths = filesUnder(stage.dir, 'database').filter((p) => !p.endsWith('/postmaster.pid') && p !== 'database/tether.pid');
    const filePaths = config.s3 === null ? filesUnder(stage.dir, 'files') : [];
    const paths = [...dbPaths, ...filePaths, ...(cmd.withJwtKeyFile ? [KEY_FILE] : [])];
    report.stage(`checksums of ${paths.length} entries`);
    const entries = await describeEntries(stage.dir, paths);
    const filesBytes = entries.filter((e) => e.path.startsWith('files/')).reduce((n, e) => n + e.size, 0);
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      formatVersion: BACKUP_FORMAT_VERSION,
      tetherVersion: cmd.tetherVersion,
      engine: config.databaseUrl === null ? 'pglite' : 'postgres',
      createdAt: new Date().toISOString(),
      database,
      migrations,
      tables,
      files:
        config.s3 === null
          ? { storage: 'local', count: filePaths.length, bytes: filesBytes }
          : { storage: 's3', bucket: config.s3.bucket, prefix: config.s3.prefix ?? '', copied: false },
      jwtKeyFile: cmd.withJwtKeyFile,
      directories: [...directoriesUnder(stage.dir, 'database'), ...(config.s3 === null ? directoriesUnder(stage.dir, 'files') : [])],
      entries,
    };
    const raw = entries.reduce((n, e) => n + e.size, 0);
    report.stage(`writing ${formatBytes(raw)} (gzipped) to ${describeTarget(target)}`);
    const sink = openSink(target, cmd.s3);
    let written: { bytes: number };
    try {
      written = await writeArchive(manifest, stage.dir, sink.stream, report.progress('archived'));
      await sink.done();
    } catch (err) {
      await sink.abort();
      throw err;
    }
    const files =
      manifest.files.storage === 'local'
        ? `${manifest.files.count} files (${formatBytes(filesBytes)})`
        : `files left in s3://${manifest.files.bucket}/${manifest.files.prefix}`;
    report.stage(
      `done in ${seconds(t0)}: ${describeTarget(target)}, ${formatBytes(written.bytes)}; ${Object.values(tables).reduce((a, b) => a + b, 0)} rows in ${Object.keys(tables).length} tables, ${files}` +
        (cmd.withJwtKeyFile ? `, and ${KEY_FILE}` : ''),
    );
  } finally {
    stage.remove();
  }
}

export async function restore(cmd: BackupCommand & { force: boolean }): Promise<void> {
  const { config } = cmd;
  const target = parseTarget(cmd.target);
  const report = stageReporter(process.stderr, 'tether restore');
  const t0 = performance.now();
  const dataDir = path.resolve(config.dataDir);
  fs.mkdirSync(dataDir, { recursive: true });
  // The embedded data dir stays locked from the check to the swap: no server starts on it meanwhile.
  let unlock = config.databaseUrl === null ? lockDataDir(dataDir) : () => {};
  const localFiles = config.s3 === null ? filesUnder(dataDir, 'files').filter((p) => !p.endsWith('.tmp')).length : 0;
  try {
    const tablesThere =
      config.databaseUrl === null ? (fs.existsSync(path.join(dataDir, 'pgdata', 'PG_VERSION')) ? 1 : 0) : await userTableCount(config.databaseUrl);
    if ((tablesThere > 0 || localFiles > 0) && !cmd.force) {
      const what = [
        tablesThere > 0 && (config.databaseUrl === null ? `a database (${dataDir}/pgdata)` : `${tablesThere} tables in the database`),
        localFiles > 0 && `${localFiles} stored files (${dataDir}/files)`,
      ]
        .filter(Boolean)
        .join(' and ');
      throw new BackupError(`the target is not empty: it holds ${what}. Restore onto an empty data dir or database, or add --force to replace what is there`);
    }

    let manifest: BackupManifest | undefined;
    const source = await openSource(target, cmd.s3);
    const stage = staged(stagingDir(dataDir, 'restore'));
    try {
      report.stage(`reading ${describeTarget(target)}${source.size !== null ? ` (${formatBytes(source.size)})` : ''}`);
      const opened = await openBackup(source.stream, report.progress('read'), source.size);
      const m = (manifest = opened.manifest);
      if (m.engine === 'pglite' && config.databaseUrl !== null) {
        throw new BackupError('this backup holds an embedded (PGlite) database: restore it into a data dir, without DATABASE_URL');
      }
      if (m.engine === 'postgres' && config.databaseUrl === null) {
        throw new BackupError('this backup holds a PostgreSQL dump: restore it with DATABASE_URL set to an empty database');
      }
      const known = new Set(fs.readdirSync(MIGRATIONS_DIR));
      const unknown = m.migrations.filter((v) => !known.has(v));
      if (unknown.length) {
        throw new BackupError(
          `the backup was made by a newer Tether (${m.tetherVersion}): its schema has migrations this one does not know (${unknown.join(', ')}); restore it with that version or later`,
        );
      }
      report.stage(`backup of ${m.createdAt} by Tether ${m.tetherVersion} (${m.engine}); checking and unpacking ${m.entries.length} entries`);
      await opened.extractTo(stage.dir);
      source.close();
      report.stage(`every entry matches its size and sha256 (${seconds(t0)})`);

      const replaceDir = (name: string) => {
        fs.rmSync(path.join(dataDir, name), { recursive: true, force: true });
        if (fs.existsSync(path.join(stage.dir, name))) fs.renameSync(path.join(stage.dir, name), path.join(dataDir, name));
      };
      if (m.engine === 'pglite') {
        fs.rmSync(path.join(dataDir, 'pgdata'), { recursive: true, force: true });
        fs.renameSync(path.join(stage.dir, 'database', 'pgdata'), path.join(dataDir, 'pgdata'));
      } else {
        report.stage('pg_restore into the database');
        await restorePostgres(config.databaseUrl!, path.join(stage.dir, DUMP), { replace: cmd.force });
      }
      if (m.files.storage === 'local') replaceDir('files');
      else
        report.stage(
          `the stored files are not in the backup: they stay in s3://${m.files.bucket}/${m.files.prefix}${config.s3 ? '' : ' (set TETHER_S3_BUCKET and its settings to serve them)'}`,
        );
      if (m.jwtKeyFile) {
        fs.copyFileSync(path.join(stage.dir, KEY_FILE), path.join(dataDir, KEY_FILE));
        fs.chmodSync(path.join(dataDir, KEY_FILE), 0o600);
        report.stage(`${KEY_FILE} restored from the backup`);
      }
    } finally {
      source.close();
      stage.remove();
    }
    unlock();
    unlock = () => {};

    await checkRestored(config, manifest!, report.stage);
    report.stage(`done in ${seconds(t0)}: ${describeTarget(target)} restored into ${config.databaseUrl === null ? dataDir : 'the database'}`);
  } finally {
    unlock();
  }
}

/** Opens what was restored: row counts as in the manifest, migrations forward, and the JWT signing keys readable. */
async function checkRestored(config: TetherConfig, m: BackupManifest, stage: (text: string) => void): Promise<void> {
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    const counts = await countRows(rowsOf(db));
    const differ = Object.entries(m.tables).filter(([t, n]) => counts[t] !== n);
    if (differ.length) {
      throw new BackupError(
        `the restored database does not match the backup: ${differ.map(([t, n]) => `${t} has ${counts[t] ?? 'no table'} rows, the backup ${n}`).join('; ')}`,
      );
    }
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    stage(`row counts match the backup's (${total} rows in ${Object.keys(m.tables).length} tables)`);
    const applied = await migrate(db);
    if (applied.length) stage(`schema migrated forward: ${applied.join(', ')}`);
    try {
      await SigningKeys.open({
        db,
        masterKey: loadMasterKey({ secret: config.jwtSecret, dataDir: config.dataDir }),
        longestTokenTtlS: Math.max(config.accessTokenTtlS, config.deviceJwtTtlS),
        configuredSecret: config.jwtSecret,
      });
    } catch (err) {
      if (!(err instanceof SigningKeyMismatchError || err instanceof KeyFileError)) throw err;
      const keyFile = path.join(path.resolve(config.dataDir), KEY_FILE);
      throw new BackupError(
        `the data is restored, but its JWT signing keys do not open with ${config.jwtSecret !== null ? 'this TETHER_JWT_SECRET' : keyFile}: ` +
          `start Tether with the TETHER_JWT_SECRET of the install that made the backup, or put that install's ${KEY_FILE} at ${keyFile} ` +
          '(or, if it is lost, run `tether admin rotate-jwt-key --drop-old`: tokens signed so far stop working)',
      );
    }
  } finally {
    await db.close();
  }
}
