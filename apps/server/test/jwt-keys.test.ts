/**
 * Issue 20 §7: the JWT signing keys are kept encrypted with a key that is not in the database
 * (TETHER_JWT_SECRET, or the data dir's key file), rotate, and an existing database's plaintext
 * secret is moved out of it without signing anyone out.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SignJWT, decodeProtectedHeader } from 'jose';
import { TetherClient } from '@tether/api-client';
import { afterEach, expect, it } from 'vitest';
import { ADMIN, connectMqtt, httpJson, startServer, usingPostgres, type TestServer } from './helpers.js';
import { CLI } from './process-helpers.js';
import type { TetherConfig } from '../src/config/config.js';
import { createTether } from '../src/main.js';
import { createLogger } from '../src/platform/observability/logger.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function server(env: Record<string, string> = {}): Promise<TestServer> {
  const s = await startServer(env);
  cleanups.push(() => s.close());
  return s;
}

/** Another Tether on the server's database and data dir (the first one stopped, unless `beside`). */
async function restart(s: TestServer, config: Partial<TetherConfig> = {}, beside = false) {
  if (!beside) await s.tether.stop();
  const tether = await createTether({ ...s.config, ...config }, { logger: createLogger('silent') });
  cleanups.push(() => tether.stop());
  const urls = await tether.start();
  const api = new TetherClient({ baseUrl: urls.httpUrl! });
  await api.login(ADMIN.email, ADMIN.password);
  return { tether, api, httpUrl: urls.httpUrl!, mqttUrl: urls.mqttUrl! };
}

const meStatus = async (httpUrl: string, token: string) => (await httpJson(`${httpUrl}/api/v1/users/me`, { token })).status;
const kidOf = (token: string) => decodeProtectedHeader(token).kid;

/** An access token as the server would sign it, with the key and key id given. */
function forge(key: string | Uint8Array, who: { id: string; orgId: string }, kid?: string, audience = 'tether:user'): Promise<string> {
  return new SignJWT({ org: who.orgId, role: 'owner' })
    .setProtectedHeader(kid ? { alg: 'HS256', typ: 'JWT', kid } : { alg: 'HS256', typ: 'JWT' })
    .setSubject(who.id)
    .setAudience(audience)
    .setIssuer('tether')
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(typeof key === 'string' ? new TextEncoder().encode(key) : key);
}

function cli(s: TestServer, args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  const base = { TETHER_DATA_DIR: s.config.dataDir, ...(s.config.databaseUrl ? { DATABASE_URL: s.config.databaseUrl } : {}), ...env };
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'admin', ...args], { env: { ...process.env, ...base } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

it('nothing the database holds signs a token: the signing keys are encrypted with a key kept outside it', async () => {
  const s = await server();
  const me = await s.api.me();
  const kid = kidOf(s.api.token!);
  expect(kid).toEqual(expect.any(String));
  const settings = await s.tether.db.query<{ key: string; value: string }>('SELECT key, value FROM settings');
  expect(settings.map((r) => r.key)).not.toContain('jwt_secret');
  const keys = await s.tether.db.query<{ kid: string; sealed: string }>('SELECT kid, sealed FROM jwt_signing_keys');
  expect(keys.map((k) => k.kid)).toEqual([kid]);
  // Everything a backup would hold that could be a key: every setting, every sealed value and each of its parts.
  const candidates = [...settings.map((r) => r.value), ...keys.flatMap((k) => [k.sealed, ...k.sealed.split('.').map((p) => Buffer.from(p, 'base64url'))])];
  for (const c of candidates) {
    expect(await meStatus(s.httpUrl, await forge(c, { id: me.id!, orgId: me.orgId }, kid))).toBe(401);
    expect(await meStatus(s.httpUrl, await forge(c, { id: me.id!, orgId: me.orgId }))).toBe(401);
  }
  // The key that opens them is the data dir's key file, readable by its owner only.
  expect(fs.statSync(path.join(s.config.dataDir, 'jwt-master.key')).mode & 0o777).toBe(0o600);
  expect(await meStatus(s.httpUrl, s.api.token!)).toBe(200);
});

it("a database with an earlier version's plaintext secret: moved out on start, and its tokens still work until they expire", async () => {
  const s = await server();
  const me = await s.api.me();
  const device = await s.api.devices.create({ name: 'old-jwt' });
  // What an earlier version left: the secret in plaintext, and no encrypted keys.
  const OLD = 'o'.repeat(48);
  await s.tether.db.query('DELETE FROM jwt_signing_keys');
  await s.tether.db.query("INSERT INTO settings (key, value) VALUES ('jwt_secret', $1)", [OLD]);
  const oldToken = await forge(OLD, { id: me.id!, orgId: me.orgId });
  const oldDeviceJwt = await forge(OLD, { id: device.id, orgId: me.orgId }, undefined, 'tether:device');

  const r = await restart(s);
  expect(await r.tether.db.query("SELECT 1 FROM settings WHERE key = 'jwt_secret'")).toEqual([]);
  const keys = await r.tether.db.query<{ kid: string; sealed: string; retired: boolean }>(
    'SELECT kid, sealed, retired_at IS NOT NULL AS retired FROM jwt_signing_keys ORDER BY retired',
  );
  expect(keys.map((k) => [k.kid === 'legacy', k.retired])).toEqual([
    [false, false],
    [true, true],
  ]);
  expect(keys.some((k) => k.sealed.includes(OLD) || k.sealed.includes(Buffer.from(OLD).toString('base64url')))).toBe(false);
  // Nobody is signed out: the old tokens verify; new ones are signed with the new key.
  expect(await meStatus(r.httpUrl, oldToken)).toBe(200);
  const c = await connectMqtt(r.mqttUrl, { username: device.id, password: oldDeviceJwt });
  await c.endAsync();
  expect(kidOf(r.api.token!)).toBe(keys[0]!.kid);
  expect(await meStatus(r.httpUrl, r.api.token!)).toBe(200);
  // A token without a key id verifies with the moved secret only.
  expect(await meStatus(r.httpUrl, await forge('x'.repeat(48), { id: me.id!, orgId: me.orgId }))).toBe(401);
}, 60_000);

it('tether admin rotate-jwt-key: a new key signs, earlier tokens verify until they expire; --drop-old refuses them at once', async () => {
  const s = await server();
  const device = await s.api.devices.create({ name: 'rotating' });
  const deviceJwt = (await s.api.devices.deviceToken(device.id)).token;
  const first = s.api.token!;
  await s.tether.stop(); // the embedded database has one owner at a time

  const rotated = await cli(s, ['rotate-jwt-key']);
  expect(rotated.code, rotated.out).toBe(0);
  const second = /New JWT signing key (\w+)/.exec(rotated.out)![1]!;
  let r = await restart(s);
  expect(kidOf(r.api.token!)).toBe(second);
  expect(kidOf(first)).not.toBe(second);
  expect(await meStatus(r.httpUrl, first)).toBe(200);
  await (await connectMqtt(r.mqttUrl, { username: device.id, password: deviceJwt })).endAsync();
  const signedWithSecond = r.api.token!;
  await r.tether.stop();

  const dropped = await cli(s, ['rotate-jwt-key', '--drop-old']);
  expect(dropped.code, dropped.out).toBe(0);
  r = await restart(s);
  expect(await meStatus(r.httpUrl, first)).toBe(401);
  expect(await meStatus(r.httpUrl, signedWithSecond)).toBe(401);
  await expect(connectMqtt(r.mqttUrl, { username: device.id, password: deviceJwt })).rejects.toThrow(/Bad username or password/i);
  expect(await meStatus(r.httpUrl, r.api.token!)).toBe(200);
  expect(await r.tether.db.query('SELECT kid FROM jwt_signing_keys')).toHaveLength(1);
}, 120_000);

it('a node whose key is not the one the signing keys were encrypted with refuses to start and says what to do', async () => {
  const s = await server({ TETHER_JWT_SECRET: 's'.repeat(40) });
  // Given by the environment, the key is in no file either.
  expect(fs.existsSync(path.join(s.config.dataDir, 'jwt-master.key'))).toBe(false);
  await s.tether.stop();
  await expect(createTether({ ...s.config, jwtSecret: 't'.repeat(40) }, { logger: createLogger('silent') })).rejects.toThrow(
    /needs the same TETHER_JWT_SECRET/,
  );
  // Nothing was changed: the right key starts it again, and nobody was signed out.
  const r = await restart(s);
  expect(await meStatus(r.httpUrl, s.api.token!)).toBe(200);
}, 60_000);

it.skipIf(!usingPostgres)(
  'nodes sharing a database with the same TETHER_JWT_SECRET accept each other’s tokens',
  async () => {
    const s = await server({ TETHER_JWT_SECRET: 'c'.repeat(40) });
    const otherDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-node2-'));
    cleanups.push(async () => fs.rmSync(otherDir, { recursive: true, force: true }));
    const node2 = await restart(s, { dataDir: otherDir }, true);
    expect(await meStatus(node2.httpUrl, s.api.token!)).toBe(200);
    expect(await meStatus(s.httpUrl, node2.api.token!)).toBe(200);
  },
  60_000,
);
