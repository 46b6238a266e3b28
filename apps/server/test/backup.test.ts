/**
 * Issue 18: `tether backup` and `tether restore` through the built CLI, as an operator runs
 * them, against a real running server (PGlite; PostgreSQL when DATABASE_URL is set): data in
 * (devices, telemetry over MQTT, a command, device files), a backup while a device keeps
 * publishing, a restore onto a fresh target and a server started on it that serves the same
 * data and accepts the same logins and device tokens; a bucket on a private s3rver as the
 * target; and the refusals (non-empty target, truncated, foreign, newer, the JWT key missing).
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKUP_FORMAT, BACKUP_FORMAT_VERSION, openBackup, writeArchive, type BackupManifest } from '../src/platform/backup/archive.js';
import { ADMIN, connectMqtt, httpJson, publish, usingPostgres } from './helpers.js';
import { startS3, type PrivateS3 } from './private-s3.js';
import { CLI, scratchServerEnv, spawnServer, type ServerProcess } from './process-helpers.js';
import { MP4_HEAD, tusUpload } from './tus-helpers.js';

type Scratch = Awaited<ReturnType<typeof scratchServerEnv>>;

/** Runs `tether <args>` with the environment of a target; its exit code and what it printed. */
function tether(args: string[], env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } }, (err, _stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, stderr }),
    );
  });
}

const sha256 = (b: Buffer | ArrayBuffer) =>
  createHash('sha256')
    .update(Buffer.from(b as ArrayBuffer))
    .digest('hex');
const BASE = Date.now() - 20 * 60_000;
const POINTS = 50;

async function login(httpUrl: string): Promise<string> {
  const r = await httpJson(`${httpUrl}/api/v1/auth/login`, { method: 'POST', body: JSON.stringify(ADMIN) });
  expect(r.status).toBe(200);
  return r.body.accessToken as string;
}

/** What a server serves of the seeded data: devices, device A's telemetry and commands, every file's bytes. */
async function contents(httpUrl: string, token: string, deviceA: string) {
  const get = async (p: string) => (await httpJson(`${httpUrl}${p}`, { token })).body as Record<string, unknown> & { items: Array<Record<string, unknown>> };
  const devices = (await get('/api/v1/devices')).items.map((d) => `${d.id} ${d.name}`).sort();
  const range = `from=${new Date(BASE - 1000).toISOString()}&to=${new Date(BASE + POINTS * 1000).toISOString()}`;
  const telemetry = ((await get(`/api/v1/devices/${deviceA}/telemetry?keys=t&${range}`)).series as Record<string, unknown[]>).t;
  const commands = (await get(`/api/v1/devices/${deviceA}/commands`)).items.map((c) => `${c.id} ${c.name} ${JSON.stringify(c.params)}`);
  const files = await Promise.all(
    (await get('/api/v1/files')).items.map(async (f) => {
      const res = await fetch(`${httpUrl}/api/v1/files/${f.id}/content`, { headers: { authorization: `Bearer ${token}` } });
      return `${f.path} ${f.size} ${f.state} ${sha256(await res.arrayBuffer())}`;
    }),
  );
  return { devices, telemetry, commands, files: files.sort() };
}

async function manifestOf(file: string): Promise<BackupManifest> {
  const stream = fs.createReadStream(file);
  const opened = await openBackup(stream, { bytes: () => {} }, null);
  stream.destroy();
  return opened.manifest;
}

describe(`tether backup and restore (${usingPostgres ? 'PostgreSQL' : 'PGlite'})`, () => {
  let src: Scratch;
  let server: ServerProcess;
  let token: string;
  let a: { id: string; token: string };
  let b: { id: string; token: string };
  let seeded: Awaited<ReturnType<typeof contents>>;
  let tmp: string;
  let s3: PrivateS3;
  const scratches: Scratch[] = [];
  const servers: ServerProcess[] = [];
  const fresh = async () => {
    const s = await scratchServerEnv();
    scratches.push(s);
    return s;
  };
  const start = async (env: Record<string, string>) => {
    const s = await spawnServer(env);
    servers.push(s);
    return s;
  };
  const stop = async (s: ServerProcess) => {
    s.proc.kill('SIGTERM');
    await s.exited;
  };

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-backup-'));
    [src, s3] = await Promise.all([fresh(), startS3('tether-backups')]);
    server = await start(src.env);
    token = await login(server.httpUrl);
    const device = async (name: string) =>
      (await httpJson(`${server.httpUrl}/api/v1/devices`, { method: 'POST', token, body: JSON.stringify({ name }) })).body as unknown as {
        id: string;
        token: string;
      };
    a = await device('pump-a');
    b = await device('pump-b');
    const mqtt = await connectMqtt(server.mqttUrl, { username: a.id, password: a.token });
    for (let i = 0; i < POINTS; i++) await publish(mqtt, `devices/${a.id}/telemetry`, JSON.stringify({ ts: BASE + i * 1000, values: { t: i } }));
    mqtt.end();
    const cmd = await httpJson(`${server.httpUrl}/api/v1/devices/${a.id}/commands`, {
      method: 'POST',
      token,
      body: JSON.stringify({ name: 'reset', params: { hard: true } }),
    });
    expect(cmd.status).toBe(201);
    await tusUpload(server.httpUrl, a.token, Buffer.concat([MP4_HEAD, randomBytes(300_000)]), { filename: 'front.mp4', filetype: 'video/mp4' }).done;
    await tusUpload(server.httpUrl, b.token, Buffer.from('boot ok\nbrake pressure 4.1 bar\n'), { filename: 'engine.log' }).done;
    seeded = await contents(server.httpUrl, token, a.id);
    expect(seeded.telemetry).toHaveLength(POINTS);
    expect(seeded.files).toHaveLength(2);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(servers.map((s) => stop(s).catch(() => {})));
    await Promise.all(scratches.map((s) => s.drop()));
    await s3?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  let restoredDir: Scratch;
  let restored: ServerProcess;
  const backupFile = () => path.join(tmp, 'tether.tar.gz');

  it('backs up while a device publishes, and a fresh target restored from it serves the same data, logins and tokens', async () => {
    // A device keeps publishing (QoS 1, each acked after commit) for the whole backup.
    const publisher: MqttClient = await connectMqtt(server.mqttUrl, { username: b.id, password: b.token });
    let publishing = true;
    let sent = 0;
    const loop = (async () => {
      while (publishing) {
        await publish(publisher, `devices/${b.id}/telemetry`, JSON.stringify({ n: sent }));
        sent++;
      }
    })();
    const started = performance.now();
    const made = await tether(['backup', backupFile(), '--with-jwt-key-file'], src.env);
    const tookMs = performance.now() - started;
    publishing = false;
    await loop;
    publisher.end();
    expect(made.stderr).toContain('tether backup: done in');
    expect(made.code).toBe(0);
    if (!usingPostgres) expect(made.stderr).toContain('snapshot taken (by the running server)');
    const m = await manifestOf(backupFile());
    console.log(
      `backup while publishing: ${fs.statSync(backupFile()).size} bytes in ${Math.round(tookMs)} ms, ${sent} messages sent meanwhile\n${made.stderr}`,
    );
    expect(m).toMatchObject({ format: BACKUP_FORMAT, engine: usingPostgres ? 'postgres' : 'pglite', jwtKeyFile: true, files: { storage: 'local', count: 2 } });
    expect(m.tables.devices).toBe(2);
    expect(m.tables.commands).toBe(1);
    // What device B sent before the snapshot is in it, the rest is not; device A's 50 points are.
    expect(m.tables.telemetry).toBeGreaterThan(POINTS);
    expect(m.tables.telemetry).toBeLessThanOrEqual(POINTS + sent);

    restoredDir = await fresh();
    const put = await tether(['restore', backupFile()], restoredDir.env);
    expect(put.stderr).toContain('row counts match');
    expect(put.code).toBe(0);
    restored = await start(restoredDir.env);
    // The admin's password, the source's access token (the signing keys came along) and device A's token all work.
    const again = await login(restored.httpUrl);
    expect((await httpJson(`${restored.httpUrl}/api/v1/users/me`, { token })).status).toBe(200);
    const mqtt = await connectMqtt(restored.mqttUrl, { username: a.id, password: a.token });
    mqtt.end();
    expect(await contents(restored.httpUrl, again, a.id)).toEqual(seeded);
    // Device B's telemetry is exactly what the snapshot counted: nothing half-written, nothing lost.
    const range = `from=${new Date(Date.now() - 3600_000).toISOString()}&to=${new Date().toISOString()}&limit=100000`;
    const bSeries = (await httpJson(`${restored.httpUrl}/api/v1/devices/${b.id}/telemetry?keys=n&${range}`, { token: again })).body.series as Record<
      string,
      unknown[]
    >;
    expect(bSeries.n!.length).toBe(m.tables.telemetry! - POINTS);
  }, 90_000);

  it('writes to and reads from an S3 bucket; refuses a non-empty target without --force, replaces it with --force', async () => {
    // Files stay on local disk: the TETHER_S3_* settings (without a bucket) are the target bucket's.
    const bucketEnv = { TETHER_S3_ENDPOINT: s3.endpoint, TETHER_S3_ACCESS_KEY_ID: 'S3RVER', TETHER_S3_SECRET_ACCESS_KEY: 'S3RVER' };
    const target = 's3://tether-backups/nightly/tether.tar.gz';
    const made = await tether(['backup', target], { ...src.env, ...bucketEnv });
    expect(made.stderr).toContain('tether backup: done in');
    expect(made.code).toBe(0);

    await stop(restored);
    if (!usingPostgres) {
      // With no server on the data dir, the command takes its lock and copies it itself.
      const offline = await tether(['backup', path.join(tmp, 'stopped.tar.gz')], restoredDir.env);
      expect(offline.stderr).toContain('snapshot taken (by the stopped data dir)');
      expect(offline.code).toBe(0);
      // What the restored server did since (sign-ins, audit entries) differs; the devices' data does not.
      const [now, then] = [(await manifestOf(path.join(tmp, 'stopped.tar.gz'))).tables, (await manifestOf(backupFile())).tables];
      for (const table of ['devices', 'telemetry', 'commands', 'device_files']) expect([table, now[table]]).toEqual([table, then[table]]);
    }
    const refused = await tether(['restore', target], { ...restoredDir.env, ...bucketEnv });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/tether restore: the target is not empty: it holds .* Restore onto an empty data dir or database, or add --force/);
    const forced = await tether(['restore', target, '--force'], { ...restoredDir.env, ...bucketEnv });
    expect(forced.stderr).toContain('row counts match');
    expect(forced.code).toBe(0);
    const s = await start(restoredDir.env);
    expect(await contents(s.httpUrl, await login(s.httpUrl), a.id)).toEqual(seeded);
    await stop(s);

    // The same backup onto a fresh target without the source's jwt-master.key: restored, and told what it needs.
    const other = await fresh();
    const keyless = await tether(['restore', target], { ...other.env, ...bucketEnv });
    expect(keyless.code).toBe(1);
    expect(keyless.stderr).toContain('the data is restored, but its JWT signing keys do not open with');
    expect(keyless.stderr).toContain('jwt-master.key');
  }, 90_000);

  it('refuses a truncated, a foreign and a newer backup, and leaves the target empty', async () => {
    const whole = fs.readFileSync(backupFile());
    const cut = path.join(tmp, 'cut.tar.gz');
    fs.writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
    const text = path.join(tmp, 'notes.txt');
    fs.writeFileSync(text, 'not a backup at all\n'.repeat(100));
    const gz = path.join(tmp, 'notes.gz');
    fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(text)));
    // A well-formed archive from a Tether with a migration this one does not have.
    const newer = path.join(tmp, 'newer.tar.gz');
    const real = await manifestOf(backupFile());
    const future: BackupManifest = {
      ...real,
      formatVersion: BACKUP_FORMAT_VERSION,
      tetherVersion: '9.0.0',
      migrations: [...real.migrations, '999_from_the_future.sql'],
      entries: [],
    };
    await writeArchive(future, tmp, fs.createWriteStream(newer), { bytes: () => {} });

    const target = await fresh();
    const cases: Array<[string, RegExp]> = [
      [cut, /tether restore: the backup is truncated: /],
      [text, /tether restore: not a Tether backup \(it is not a gzipped tar archive\)/],
      [gz, /tether restore: not a Tether backup \(not a tar archive\)/],
      [
        newer,
        /tether restore: the backup was made by a newer Tether \(9\.0\.0\): its schema has migrations this one does not know \(999_from_the_future\.sql\)/,
      ],
    ];
    for (const [file, message] of cases) {
      const r = await tether(['restore', file], target.env);
      expect([r.code, r.stderr]).toEqual([1, expect.stringMatching(message)]);
    }
    // Nothing was put in place: a real backup restores onto it without --force.
    expect(fs.existsSync(path.join(target.dataDir, 'pgdata'))).toBe(false);
    expect(fs.readdirSync(target.dataDir).filter((f) => f.startsWith('.restore-'))).toEqual([]);
  }, 60_000);
});
