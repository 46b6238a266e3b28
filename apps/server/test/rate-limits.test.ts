/** Endpoints that check a secret are limited per IP and per account, before the secret is checked. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ADMIN, connectMqtt, httpJson, startServer, type TestServer } from './helpers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startServer({
    TETHER_LOGIN_LIMIT_PER_IP: '6',
    TETHER_LOGIN_LIMIT_PER_ACCOUNT: '3',
    TETHER_MQTT_AUTH_FAILURES_PER_MINUTE: '3',
    TETHER_MQTT_CONNECTS_PER_DEVICE_PER_MINUTE: '4',
  });
});
afterAll(async () => s?.close());

const login = (email: string, password: string) => httpJson(`${s.httpUrl}/api/v1/auth/login`, { method: 'POST', body: JSON.stringify({ email, password }) });

it('answers 429 RATE_LIMITED with Retry-After past the per-account and per-IP limits, even to the right password', async () => {
  // startServer signed in once already: that counts against the IP and the admin's account.
  await s.api.users.create({ email: 'second@example.com', password: 'second-password-1', role: 'viewer' });
  const wrong = [await login(ADMIN.email, 'nope-1'), await login(ADMIN.email, 'nope-2')];
  expect(wrong.map((r) => r.status)).toEqual([401, 401]);
  const limited = await login(ADMIN.email, ADMIN.password);
  expect(limited.status).toBe(429);
  expect(limited.body.error?.code).toBe('RATE_LIMITED');
  const res = await fetch(`${s.httpUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: ADMIN.email, password: ADMIN.password }),
  });
  expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  // Another account still signs in, until this IP has used its six.
  expect((await login('second@example.com', 'second-password-1')).status).toBe(200);
  expect((await login('second@example.com', 'second-password-1')).status).toBe(429);
});

it('limits device-token requests per device token', async () => {
  const d = await s.api.devices.create({ name: 'jwt-limit' });
  const statuses: number[] = [];
  for (let i = 0; i < 12; i++) statuses.push((await httpJson(`${s.httpUrl}/api/v1/auth/device-token`, { method: 'POST', token: d.token, body: '{}' })).status);
  expect(statuses.slice(0, 10).every((st) => st === 200)).toBe(true);
  expect(statuses.slice(10)).toEqual([429, 429]);
});

it('answers bad MQTT credentials late once an IP has used its free refusals, and good ones at once', async () => {
  const d = await s.api.devices.create({ name: 'mqtt-auth-limit' });
  const refusal = async () => {
    const t0 = Date.now();
    const err = await connectMqtt(s.mqttUrl, { username: d.id, password: 'dt_wrong', connectTimeout: 20_000 }).then(
      () => null,
      (e: Error & { code?: number }) => e,
    );
    expect(err?.code).toBe(4);
    return Date.now() - t0;
  };
  for (let i = 0; i < 3; i++) await refusal();
  // Past the three free ones, each refusal waits 250 ms, then 500, then 1 s.
  expect(await refusal()).toBeGreaterThanOrEqual(240);
  expect(await refusal()).toBeGreaterThanOrEqual(490);
  const good = await connectMqtt(s.mqttUrl, { username: d.id, password: d.token });
  expect(good.connected).toBe(true);
  good.end(true);
}, 60_000);

it('answers a device in a reconnect loop late past its free CONNECTs a minute, never refuses it, and counts no other device', async () => {
  const looping = await s.api.devices.create({ name: 'reconnect-loop' });
  const other = await s.api.devices.create({ name: 'connects-once' });
  const slowed = async () => Number(/^tether_mqtt_connects_slowed_total (\d+)/m.exec(await (await fetch(`${s.httpUrl}/metrics`)).text())?.[1] ?? 0);
  const connectOnce = async (d: { id: string; token: string }) => {
    const t0 = Date.now();
    const c = await connectMqtt(s.mqttUrl, { username: d.id, password: d.token, connectTimeout: 20_000 });
    c.end(true);
    return Date.now() - t0;
  };
  for (let i = 0; i < 4; i++) await connectOnce(looping);
  expect(await slowed()).toBe(0);
  // Past its four free ones, each CONNACK waits 250 ms, then 500: late, but connected.
  expect(await connectOnce(looping)).toBeGreaterThanOrEqual(240);
  expect(await connectOnce(looping)).toBeGreaterThanOrEqual(490);
  expect(await slowed()).toBe(2);
  await connectOnce(other);
  expect(await slowed()).toBe(2);
}, 60_000);
