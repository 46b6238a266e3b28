/**
 * Issue 20 §7: no credential reaches the log, on any path, when requests fail. Every line
 * the server writes at trace is read while the database fails under it: first one table
 * gone (the queries fail with their parameters attached), then the database itself.
 */
import net from 'node:net';
import { Writable } from 'node:stream';
import pg from 'pg';
import WebSocket from 'ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ADMIN, connectMqtt, httpJson, startServer, type TestServer } from './helpers.js';
import { createLogger } from '../src/platform/observability/logger.js';
import { hashToken } from '../src/platform/security/secrets.js';

const lines: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _enc, done) {
    lines.push(chunk.toString());
    done();
  },
});
let s: TestServer;
let secrets: Record<string, string>;
let deviceId: string;

beforeAll(async () => {
  s = await startServer({ TETHER_LOG_LEVEL: 'trace' }, { logger: createLogger('trace', sink) });
  const device = await s.api.devices.create({ name: 'leaky' });
  const key = await s.api.apiKeys.create({ name: 'k', role: 'viewer' });
  const deviceJwt = (await s.api.devices.deviceToken(device.id)).token;
  await s.api.users.create({ email: 'op@example.com', password: 'operator-password-9', role: 'operator' });
  secrets = {
    deviceToken: device.token,
    storedTokenHash: hashToken(device.token),
    apiKey: key.key,
    accessToken: s.api.token!,
    refreshToken: s.api.refreshToken!,
    deviceJwt,
    adminPassword: ADMIN.password,
    userPassword: 'operator-password-9',
  };
  deviceId = device.id;
}, 60_000);

afterAll(async () => {
  await s?.close();
});

const post = (path: string, body: unknown, token?: string) => httpJson(`${s.httpUrl}${path}`, { method: 'POST', token, body: JSON.stringify(body) });

/** Every way a credential reaches the server; the answers do not matter, the log does. */
async function sendEveryCredential(): Promise<number[]> {
  const statuses = [
    (await post(`/api/v1/${secrets.deviceToken}/telemetry`, { t: 1 })).status,
    (await post(`/api/v1/${secrets.deviceJwt}/attributes`, { fw: '1' })).status,
    (await post('/api/v1/device/telemetry', { t: 1 }, secrets.deviceToken)).status,
    (await post('/api/v1/device/telemetry', { t: 1, device_id: deviceId, jwt_token: secrets.deviceJwt }, secrets.deviceJwt)).status,
    (await post('/api/v1/auth/login', { email: ADMIN.email, password: secrets.adminPassword })).status,
    (await post('/api/v1/auth/login', { email: 'op@example.com', password: secrets.userPassword })).status,
    (await post('/api/v1/auth/refresh', { refreshToken: secrets.refreshToken })).status,
    (await httpJson(`${s.httpUrl}/api/v1/devices`, { token: secrets.apiKey })).status,
    (await httpJson(`${s.httpUrl}/api/v1/users/me`, { token: secrets.accessToken })).status,
    (await post('/api/v1/auth/device-token', {}, secrets.deviceToken)).status,
    (await post('/api/v1/auth/device-verify', { token: secrets.deviceJwt })).status,
  ];
  // MQTT: Tether style (password = token or JWT) and ThingsBoard style (username = token).
  for (const opts of [
    { username: deviceId, password: secrets.deviceToken },
    { username: deviceId, password: secrets.deviceJwt },
    { username: secrets.deviceToken },
  ]) {
    await connectMqtt(s.mqttUrl, opts).then(
      (c) => c.endAsync(),
      () => {},
    );
  }
  // The live WebSocket takes its token in the query string.
  await new Promise<void>((resolve) => {
    const ws = new WebSocket(`${s.httpUrl.replace('http', 'ws')}/api/v1/live?token=${secrets.accessToken}`);
    ws.on('close', () => resolve());
    ws.on('error', () => resolve());
    setTimeout(() => (ws.terminate(), resolve()), 3000);
  });
  // A request Node's HTTP parser refuses is logged at trace with the bytes it read, headers included.
  await new Promise<void>((resolve) => {
    const { hostname, port } = new URL(s.httpUrl);
    const sock = net.connect(Number(port), hostname, () =>
      sock.write(`GET /api/v1/devices HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${secrets.apiKey}\r\nBad Header\r\n\r\n`),
    );
    sock.on('data', () => {});
    sock.on('close', () => resolve());
    sock.on('error', () => resolve());
  });
  return statuses;
}

function expectNoSecretLogged(): void {
  const log = lines.join('');
  // Also URL-encoded, as a query string would be, and as the bytes of a logged Buffer ({"type":"Buffer","data":[…]}).
  const forms = (v: string) => [v, encodeURIComponent(v), Array.from(Buffer.from(v)).join(',')];
  const leaked = Object.entries(secrets).filter(([, value]) => forms(value).some((f) => log.includes(f)));
  expect(leaked.map(([name]) => name)).toEqual([]);
}

it('a query that fails with its parameters: the 500s are logged, no credential is', async () => {
  await s.tether.db.query('ALTER TABLE device_credentials RENAME TO device_credentials_away');
  lines.length = 0;
  try {
    const statuses = await sendEveryCredential();
    expect(statuses[0]).toBe(500); // the ThingsBoard-style route of the issue
  } finally {
    await s.tether.db.query('ALTER TABLE device_credentials_away RENAME TO device_credentials');
  }
  const failed = lines.filter((l) => l.includes('request failed'));
  expect(failed.length).toBeGreaterThan(0);
  // The path is still there to read, less the token.
  expect(failed.some((l) => l.includes('/api/v1/[redacted]/telemetry'))).toBe(true);
  expect(lines.some((l) => l.includes('device authentication failed'))).toBe(true);
  expectNoSecretLogged();
}, 60_000);

it('the database stopped under the server: every credential-bearing request fails, none is logged', async () => {
  lines.length = 0;
  if (s.config.databaseUrl) {
    // Our own scratch database: refuse new connections and end the open ones.
    const url = new URL(s.config.databaseUrl);
    const name = url.pathname.slice(1);
    url.pathname = '/postgres';
    const admin = new pg.Client({ connectionString: url.toString() });
    await admin.connect();
    await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
    await admin.end();
  } else {
    await s.tether.db.close();
  }
  const statuses = await sendEveryCredential();
  // All but the JWT in a path (longer than a path parameter may be: 414), device-token (a device
  // token it cannot check is tried as a user's: 401) and device-verify (this JWT was verified before: cached).
  const [tbToken, , bearerToken, bearerJwt, adminLogin, userLogin, refresh, apiKey, accessToken] = statuses;
  // PostgreSQL unreachable is 503 UNAVAILABLE (retry); a closed PGlite is a 500.
  const failure = s.config.databaseUrl ? 503 : 500;
  expect([tbToken, bearerToken, bearerJwt, adminLogin, userLogin, refresh, apiKey, accessToken]).toEqual(Array(8).fill(failure));
  expect(lines.filter((l) => l.includes('request failed')).length).toBeGreaterThan(5);
  expect(lines.some((l) => l.includes('client error'))).toBe(true);
  expectNoSecretLogged();
}, 60_000);
