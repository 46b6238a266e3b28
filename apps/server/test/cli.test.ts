/** The `tether start` command as an operator meets it: bad config, taken ports, TLS, shutdown. */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ADMIN, connectMqtt, scratchDatabase } from './helpers.js';
import { CLI, spawnServer } from './process-helpers.js';
import { TetherClient } from '@tether/api-client';
import { SETTINGS, settingsTable } from '../src/config/config.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

function run(env: Record<string, string>, args = ['start']): Promise<{ code: number | null; out: string }> {
  const proc = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
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
    const r = await run({
      TETHER_DATA_DIR: dataDir,
      TETHER_HTTP_PORT: '0',
      TETHER_MQTT_PORT: String(port),
      TETHER_MQTT_HOST: '127.0.0.1',
      TETHER_LOG_LEVEL: 'warn',
    });
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
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${dir}/key.pem`,
      '-out',
      `${dir}/cert.pem`,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
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
    const ready = server
      .output()
      .split('\n')
      .find((l) => l.startsWith('Tether ready'))!;
    const httpsUrl = /web (https:\/\/\S+)/.exec(ready)![1]!;
    const mqttsUrl = /mqtts (mqtts:\/\/\S+)/.exec(ready)![1]!;
    const ca = fs.readFileSync(`${dir}/cert.pem`);
    const health = await new Promise<number>((resolve, reject) => {
      import('node:https').then(({ get }) => get(`${httpsUrl}/healthz`, { ca }, (res) => resolve(res.statusCode ?? 0)).on('error', reject), reject);
    });
    expect(health).toBe(200);
    // Over TLS, a wrong token is still refused: the TLS listener runs the same authentication.
    await expect(connectMqtt(mqttsUrl, { ca, username: '00000000-0000-4000-8000-000000000000', password: 'dt_x', rejectUnauthorized: true })).rejects.toThrow(
      /Bad username or password/i,
    );
  } finally {
    server.proc.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(server.output()).toContain('Tether stopped.');
  }
}, 60_000);

it('answers --version and --help without starting anything, and refuses unknown flags', async () => {
  const version = await run({}, ['--version']);
  expect(version).toEqual({ code: 0, out: '0.1.0\n' });
  const help = await run({}, ['start', '--help']);
  expect(help.code).toBe(0);
  expect(help.out).not.toContain('Tether ready');
  // Every setting is listed, with its environment variable.
  for (const st of SETTINGS) expect(help.out.replace(/\s+/g, ' ')).toContain(`--${st.flag} <value>`);
  expect(help.out).toContain('env TETHER_HTTP_PORT');
  const bogus = await run({}, ['start', '--htpp-port', '9']);
  expect(bogus.code).not.toBe(0);
  expect(bogus.out).toContain("unknown option '--htpp-port'");
});

it('creates the first admin only once it listens: a start that fails on a taken port leaves the login for the next one', async () => {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as net.AddressInfo).port;
  const scratch = await scratchDatabase();
  cleanups.push(scratch.drop);
  const env = {
    TETHER_DATA_DIR: scratch.dataDir,
    ...(scratch.url ? { DATABASE_URL: scratch.url } : {}),
    TETHER_HTTP_PORT: '0',
    TETHER_MQTT_HOST: '127.0.0.1',
    TETHER_LOG_LEVEL: 'warn',
  };
  let failed;
  try {
    failed = await run({ ...env, TETHER_MQTT_PORT: String(port) });
  } finally {
    blocker.close();
  }
  expect(failed.code).toBe(3);
  expect(failed.out).toContain('changed nothing');
  expect(failed.out).not.toContain('First admin login');

  // Fixed: the next start creates the admin, with the password now set in the environment.
  const server = await spawnServer({ ...env, TETHER_MQTT_PORT: '0', TETHER_ADMIN_PASSWORD: 'chosen-later-1' });
  const httpUrl = /web (http:\/\/\S+)/.exec(server.output())![1]!;
  try {
    await expect.poll(() => server.output(), { timeout: 5000 }).toContain('First admin login: admin@tether.local with the password from TETHER_ADMIN_PASSWORD');
    await new TetherClient({ baseUrl: httpUrl }).login('admin@tether.local', 'chosen-later-1');
    // Beside a running embedded server, an admin command is refused rather than corrupt its files.
    if (!scratch.url) {
      const busy = await run(env, ['admin', 'reset-password', 'admin@tether.local']);
      expect(busy.code).toBe(1);
      expect(busy.out).toContain('is in use by process');
    }
  } finally {
    server.proc.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  }

  // Lost the password: reset it from the machine, then sign in with the new one.
  const reset = await run({ ...env, TETHER_NEW_PASSWORD: 'reset-by-operator-1' }, ['admin', 'reset-password', 'admin@tether.local']);
  expect(reset.code, reset.out).toBe(0);
  expect(reset.out).not.toContain('reset-by-operator-1');
  const generated = await run(env, ['admin', 'reset-password', 'admin@tether.local']);
  const password = /New password of admin@tether\.local: (\S+)/.exec(generated.out)![1]!;
  const unknown = await run(env, ['admin', 'reset-password', 'nobody@example.com']);
  expect(unknown).toMatchObject({ code: 1 });
  expect(unknown.out).toContain('no user with the email nobody@example.com');

  const again = await spawnServer({ ...env, TETHER_MQTT_PORT: '0' });
  try {
    await new Promise((r) => setTimeout(r, 500));
    expect(again.output()).not.toContain('First admin login');
    const url = /web (http:\/\/\S+)/.exec(again.output())![1]!;
    await new TetherClient({ baseUrl: url }).login('admin@tether.local', password);
    await expect(new TetherClient({ baseUrl: url }).login('admin@tether.local', 'chosen-later-1')).rejects.toThrow();
  } finally {
    again.proc.kill('SIGTERM');
    await again.exited;
  }
}, 120_000);

it("the README's table of settings is the one SETTINGS gives", () => {
  const readme = fs.readFileSync(path.resolve(path.dirname(CLI), '../../../../README.md'), 'utf8');
  expect(readme, `replace the README's settings table with:\n${settingsTable()}`).toContain(settingsTable());
});
