/**
 * Issue 12 §4: device authentication and ACL for an external broker that asks
 * Tether over HTTP (EMQX's HTTP authenticator and authorizer), tested
 * directly on the endpoints, through the real server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpJson, startServer, type TestServer } from './helpers.js';

const BROKER_TOKEN = 'broker-secret-of-at-least-32-characters!';

describe('POST /api/v1/broker/auth and /acl', () => {
  let s: TestServer;
  const ask = (path: string, body: unknown, token: string | null = BROKER_TOKEN) =>
    httpJson(`${s.httpUrl}/api/v1/broker/${path}`, { method: 'POST', token: token ?? undefined, body: JSON.stringify(body) });

  beforeAll(async () => {
    s = await startServer({ TETHER_BROKER_AUTH_TOKEN: BROKER_TOKEN });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('answers only the broker: no token or a wrong one is 401', async () => {
    const d = await s.api.devices.create({ name: 'b-auth-0' });
    const body = { clientid: 'c', username: d.id, password: d.token };
    expect((await ask('auth', body, null)).body.error?.code).toBe('UNAUTHORIZED');
    expect((await ask('auth', body, `${BROKER_TOKEN}x`)).status).toBe(401);
    expect((await ask('acl', { username: d.id, topic: `devices/${d.id}/telemetry`, action: 'publish' }, 'wrong')).status).toBe(401);
    // A device's own token is not the broker's.
    expect((await ask('auth', body, d.token)).status).toBe(401);
  });

  it('allows a device with its token or JWT, and nothing else', async () => {
    const d = await s.api.devices.create({ name: 'b-auth-1' });
    const other = await s.api.devices.create({ name: 'b-auth-2' });
    const { token: jwt } = await s.api.devices.deviceToken(d.id);
    const verdict = async (username: string, password?: string) => (await ask('auth', { clientid: 'x', username, password })).body;
    expect(await verdict(d.id, d.token)).toEqual({ result: 'allow', is_superuser: false });
    expect(await verdict(d.id, jwt)).toEqual({ result: 'allow', is_superuser: false });
    expect((await verdict(d.id, `${d.token}x`)).result).toBe('deny');
    expect((await verdict(d.id, other.token)).result).toBe('deny');
    expect((await verdict(other.id, jwt)).result).toBe('deny');
    // ThingsBoard style (the token as username) needs the device's id in its topics on an external broker.
    expect((await verdict(d.token)).result).toBe('deny');
    expect((await verdict('', '')).result).toBe('deny');
    // Revoked: refused at once.
    expect((await httpJson(`${s.httpUrl}/api/v1/devices/${d.id}/credentials/revoke`, { method: 'POST', token: s.api.token! })).status).toBe(204);
    expect((await verdict(d.id, d.token)).result).toBe('deny');
  });

  it('keeps each device in its own topic tree, as the embedded broker does', async () => {
    const d = await s.api.devices.create({ name: 'b-acl' });
    const other = await s.api.devices.create({ name: 'b-acl-other' });
    const may = async (action: 'publish' | 'subscribe', topic: string) => (await ask('acl', { clientid: 'x', username: d.id, topic, action })).body.result;
    for (const ch of ['telemetry', 'alerts', 'heartbeat', 'location', 'attributes', 'commands/123/result', 'ota/status'])
      expect(await may('publish', `devices/${d.id}/${ch}`), ch).toBe('allow');
    for (const t of ['config', 'commands/+', 'commands/#', 'ota', '#']) expect(await may('subscribe', `devices/${d.id}/${t}`), t).toBe('allow');
    const denied: ['publish' | 'subscribe', string][] = [
      ['publish', `devices/${other.id}/telemetry`],
      ['subscribe', `devices/${other.id}/commands/+`],
      ['subscribe', 'devices/+/telemetry'],
      ['subscribe', 'devices/#'],
      ['publish', `devices/${d.id}/commands/123`],
      ['publish', `devices/${d.id}/config`],
      ['subscribe', `devices/${d.id}/telemetry`],
      ['publish', 'v1/devices/me/telemetry'],
      ['publish', '$SYS/broker/x'],
    ];
    for (const [action, topic] of denied) expect(await may(action, topic), `${action} ${topic}`).toBe('deny');
    expect((await ask('acl', { username: d.id, topic: 'x', action: 'delete' })).status).toBe(400);
  });
});

describe('without TETHER_BROKER_AUTH_TOKEN', () => {
  it('answers 404 on the broker routes, whatever the token', async () => {
    const s = await startServer();
    try {
      const res = await httpJson(`${s.httpUrl}/api/v1/broker/auth`, { method: 'POST', token: BROKER_TOKEN, body: '{"username":"x","password":"y"}' });
      expect(res.status).toBe(404);
      expect(res.body.error?.message).toContain('TETHER_BROKER_AUTH_TOKEN');
    } finally {
      await s.close();
    }
  });
});
