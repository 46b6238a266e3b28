/** The `tether start` command as an operator meets it: bad config, taken ports, TLS, shutdown. */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ADMIN, connectMqtt, scratchDatabase } from './helpers.js';
import { CLI, spawnServer } from './process-helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

function run(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const proc = spawn(process.execPath, [CLI, 'start'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d));
  proc.stderr.on('data', (d: Buffer) => (out += d));
  return new Promise((resolve) => proc.on('exit', (code) => resolve({ code, out })));
}

it('lists every configuration problem at once and exits 2', async () => {
  const r = await run({ TETHER_HTTP_PORT: 'abc', TETHER_ROLES: 'api,bogus', TETHER_ADMIN_PASSWORD: 'short', DATABASE_URL: 'mysql://x' });
  expect(r.code).toBe(2);
  expect(r.out).toContain('TETHER_HTTP_PORT');
  expect(r.out).toContain('TETHER_ROLES');
  expect(r.out).toContain('TETHER_ADMIN_PASSWORD');
  expect(r.out).toContain('DATABASE_URL');
});

it('names a taken port and the setting to change, and exits non-zero', async () => {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as net.AddressInfo).port;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-port-'));
  cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  try {
    const r = await run({ TETHER_DATA_DIR: dataDir, TETHER_HTTP_PORT: '0', TETHER_MQTT_PORT: String(port), TETHER_MQTT_HOST: '127.0.0.1', TETHER_LOG_LEVEL: 'warn' });
    expect(r.code).toBe(3);
    expect(r.out).toContain(`Port ${port} (MQTT) is already in use`);
    expect(r.out).toContain('TETHER_MQTT_PORT');
  } finally {
    blocker.close();
  }
}, 60_000);

it('serves HTTPS and MQTT over TLS when given a certificate, and stops cleanly on SIGTERM', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-tls-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${dir}/key.pem`, '-out', `${dir}/cert.pem`, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  const scratch = await scratchDatabase();
  cleanups.push(scratch.drop);
  const server = await spawnServer({
    TETHER_DATA_DIR: scratch.dataDir,
    ...(scratch.url ? { DATABASE_URL: scratch.url } : {}),
    TETHER_ADMIN_EMAIL: ADMIN.email,
    TETHER_ADMIN_PASSWORD: ADMIN.password,
    TETHER_TLS_CERT: `${dir}/cert.pem`,
    TETHER_TLS_KEY: `${dir}/key.pem`,
    TETHER_MQTTS_PORT: '0',
  }).catch((err: unknown) => {
    throw err;
  });
  try {
    const ready = server.output().split('\n').find((l) => l.startsWith('Tether ready'))!;
    const httpsUrl = /web (https:\/\/\S+)/.exec(ready)![1]!;
    const mqttsUrl = /mqtts (mqtts:\/\/\S+)/.exec(ready)![1]!;
    const ca = fs.readFileSync(`${dir}/cert.pem`);
    const health = await new Promise<number>((resolve, reject) => {
      import('node:https').then(({ get }) => get(`${httpsUrl}/healthz`, { ca }, (res) => resolve(res.statusCode ?? 0)).on('error', reject), reject);
    });
    expect(health).toBe(200);
    // Over TLS, a wrong token is still refused: the TLS listener runs the same authentication.
    await expect(connectMqtt(mqttsUrl, { ca, username: '00000000-0000-4000-8000-000000000000', password: 'dt_x', rejectUnauthorized: true })).rejects.toThrow(/Bad username or password/i);
  } finally {
    server.proc.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(server.output()).toContain('Tether stopped.');
  }
}, 60_000);
