/**
 * The GCP VM's start-up and shutdown scripts (deploy/terraform/gcp/scripts), run as the plain
 * shell they are, with what they call pointed at this machine through their environment: the
 * tether CLI as a process (in the VM, a one-off container), a private S3 server as the backup
 * bucket (in the VM, GCS's interoperability endpoint), and the test database (PostgreSQL with
 * DATABASE_URL, else PGlite). A running server is backed up by the shutdown script, and the
 * start-up script's restore step brings the same devices and telemetry back on a new database.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TetherClient } from '@tether/api-client';
import { ADMIN, httpJson } from './helpers.js';
import { CLI, scratchServerEnv, spawnServer, type ServerProcess } from './process-helpers.js';
import { startS3, type PrivateS3 } from './private-s3.js';

const SCRIPTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../deploy/terraform/gcp/scripts');
// Both sides of a restore must share it: it decrypts the JWT signing keys the database holds.
const JWT_SECRET = 'a-deployment-secret-of-at-least-32-characters';

function runScript(script: string, env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const proc = spawn('bash', [path.join(SCRIPTS, script)], {
    env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d));
  proc.stderr.on('data', (d: Buffer) => (out += d));
  return new Promise((resolve) => proc.on('exit', (code) => resolve({ code, out })));
}

/** What the scripts read from the VM's metadata and its files, given here; no Docker (COMPOSE is a no-op). */
function vmEnv(s3: PrivateS3, home: string, database: Record<string, string>): Record<string, string> {
  return {
    // Nothing answers there: every metadata read falls back to the environment or its default.
    METADATA_URL: 'http://127.0.0.1:9/computeMetadata',
    TETHER_HOME: home,
    TETHER_DOMAIN: 'tether.example',
    BACKUP_BUCKET: s3.bucket,
    TETHER_S3_ENDPOINT: s3.endpoint,
    TETHER_S3_REGION: 'us-east-1',
    TETHER_S3_ACCESS_KEY_ID: s3.env.TETHER_S3_ACCESS_KEY_ID!,
    TETHER_S3_SECRET_ACCESS_KEY: s3.env.TETHER_S3_SECRET_ACCESS_KEY!,
    COMPOSE: 'true',
    TETHER_CLI: `${process.execPath} ${CLI}`,
    STARTUP_SCRIPT: path.join(SCRIPTS, 'startup.sh'),
    TETHER_JWT_SECRET: JWT_SECRET,
    ...database,
  };
}

/** DATABASE_URL and TETHER_DATA_DIR of a scratch target, as the CLI takes them. */
const databaseOf = (env: Record<string, string>) => {
  const { DATABASE_URL, TETHER_DATA_DIR } = env;
  return { TETHER_DATA_DIR: TETHER_DATA_DIR!, ...(DATABASE_URL ? { DATABASE_URL } : {}) };
};

async function signIn(server: ServerProcess): Promise<TetherClient> {
  const api = new TetherClient({ baseUrl: server.httpUrl });
  await api.login(ADMIN.email, ADMIN.password);
  return api;
}

/** Every device by name, with every point of its telemetry: what must come back identical. */
async function snapshot(api: TetherClient) {
  const devices = (await api.devices.list({ limit: 100 })).items.sort((a, b) => a.name.localeCompare(b.name));
  const out: Record<string, unknown> = {};
  for (const d of devices) {
    out[d.name] = {
      id: d.id,
      telemetry: await api.devices.telemetry(d.id, { keys: 'temperature,label', from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' }),
    };
  }
  return out;
}

const cleanups: (() => Promise<unknown> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe('the VM scripts: shutdown backs up to the bucket, start-up restores the latest backup', () => {
  let s3: PrivateS3;
  beforeAll(async () => {
    s3 = await startS3('tether-backups');
    cleanups.push(() => s3.stop());
  });

  it('round-trips a running server through the bucket and moves the LATEST pointer', async () => {
    const source = await scratchServerEnv();
    cleanups.push(() => source.drop());
    const server = await spawnServer({ ...source.env, TETHER_JWT_SECRET: JWT_SECRET });
    cleanups.push(() => void server.proc.kill('SIGKILL'));
    const api = await signIn(server);
    const project = await api.projects.create({ name: 'Boilers' });
    for (let d = 0; d < 3; d++) {
      const device = await api.devices.create({ name: `boiler-${d}`, projectId: project.id });
      const readings = Array.from({ length: 40 }, (_, i) => ({
        ts: Date.parse('2026-01-01T10:00:00Z') + i * 60_000,
        values: { temperature: 20 + d + i / 10, label: `r${i}` },
      }));
      const r = await httpJson(`${server.httpUrl}/api/v1/device/telemetry`, { method: 'POST', token: device.token, body: JSON.stringify(readings) });
      expect(r.status).toBeLessThan(300);
    }
    const before = await snapshot(api);
    expect(Object.keys(before)).toEqual(['boiler-0', 'boiler-1', 'boiler-2']);

    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-vm-'));
    cleanups.push(() => fs.rmSync(home, { recursive: true, force: true }));
    const vm = vmEnv(s3, home, databaseOf(source.env));
    const creds = await runScript('startup.sh', { ...vm, STEPS: 'credentials' });
    expect(creds.code, creds.out).toBe(0);
    // The key file is the VM's secret: only its owner reads it.
    expect(fs.statSync(path.join(home, 'backup.env')).mode & 0o077).toBe(0);

    // The shutdown script, while the server still runs (the daily timer's case; at a real
    // shutdown its "stop" step stops Tether first, a no-op here).
    const shutdown = await runScript('shutdown.sh', vm);
    expect(shutdown.code, shutdown.out).toBe(0);
    const key = /backing up to s3:\/\/tether-backups\/(backups\/tether-\d{8}T\d{6}Z\.tgz)/.exec(shutdown.out)?.[1];
    expect(key, shutdown.out).toBeTruthy();
    const latest = await fetch(`${s3.endpoint}/${s3.bucket}/backups/LATEST`);
    expect(latest.status).toBe(200);
    expect((await latest.text()).trim()).toBe(key);
    server.proc.kill('SIGTERM');
    expect(await server.exited).toBe(0);

    // A new VM: a new, empty database; the start-up script's restore step.
    const target = await scratchServerEnv();
    cleanups.push(() => target.drop());
    const home2 = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-vm-'));
    cleanups.push(() => fs.rmSync(home2, { recursive: true, force: true }));
    const vm2 = vmEnv(s3, home2, databaseOf(target.env));
    expect((await runScript('startup.sh', { ...vm2, STEPS: 'credentials' })).code).toBe(0);
    const restore = await runScript('startup.sh', { ...vm2, STEPS: 'restore' });
    expect(restore.code, restore.out).toBe(0);
    expect(restore.out).toContain(`restoring s3://tether-backups/${key}`);

    const restored = await spawnServer({ ...target.env, TETHER_JWT_SECRET: JWT_SECRET });
    cleanups.push(() => void restored.proc.kill('SIGKILL'));
    expect(await snapshot(await signIn(restored))).toEqual(before);
    restored.proc.kill('SIGTERM');
    expect(await restored.exited).toBe(0);

    // A later boot of the same VM keeps its database: no second restore.
    const again = await runScript('startup.sh', { ...vm2, STEPS: 'restore' });
    expect(again.code, again.out).toBe(0);
    expect(again.out).toContain('no restore');
  }, 240_000);

  it('starts on an empty database when the bucket has no backup yet', async () => {
    const empty = await startS3('tether-new');
    cleanups.push(() => empty.stop());
    const target = await scratchServerEnv();
    cleanups.push(() => target.drop());
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-vm-'));
    cleanups.push(() => fs.rmSync(home, { recursive: true, force: true }));
    const vm = vmEnv(empty, home, databaseOf(target.env));
    expect((await runScript('startup.sh', { ...vm, STEPS: 'credentials' })).code).toBe(0);
    const r = await runScript('startup.sh', { ...vm, STEPS: 'restore' });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('no backup in s3://tether-new/backups/LATEST');
    expect(fs.existsSync(path.join(home, 'state', 'database-initialized'))).toBe(true);
  }, 60_000);

  it('stops, and moves no pointer, when the backup fails', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-vm-'));
    cleanups.push(() => fs.rmSync(home, { recursive: true, force: true }));
    const broken = await startS3('tether-broken');
    cleanups.push(() => broken.stop());
    // A database that is not there: the backup command fails.
    const vm = vmEnv(broken, home, { DATABASE_URL: 'postgres://nobody@127.0.0.1:9/none', TETHER_DATA_DIR: home });
    expect((await runScript('startup.sh', { ...vm, STEPS: 'credentials' })).code).toBe(0);
    const r = await runScript('shutdown.sh', vm);
    expect(r.code).not.toBe(0);
    expect(r.out).not.toContain('backup done');
    expect((await fetch(`${broken.endpoint}/${broken.bucket}/backups/LATEST`)).status).toBe(404);
  }, 60_000);
});
