/**
 * Device provisioning (ThingsBoard's API over HTTP and MQTT), seed 003's IMEI
 * login and seed 004's claim codes, through the real server: real HTTP, real
 * mqtt.js, the data a provisioned device sends found stored.
 */
import type { MqttClient } from 'mqtt';
import { TetherClient } from '@tether/api-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, connectMqtt, httpJson, publish, startServer, until, type TestServer } from './helpers.js';

let s: TestServer;
let admin: string;
let projectId: string;
let key: { key: string; secret: string };

const post = (path: string, body: unknown, token?: string) =>
  httpJson(`${s.httpUrl}${path}`, { method: 'POST', body: JSON.stringify(body), ...(token ? { token } : {}) });
const patch = (path: string, body: unknown, token = admin) => httpJson(`${s.httpUrl}${path}`, { method: 'PATCH', body: JSON.stringify(body), token });
const get = (path: string, token = admin) => httpJson(`${s.httpUrl}${path}`, { token });
const latest = async (deviceId: string, key: string) =>
  ((await get(`/api/v1/devices/${deviceId}/telemetry/latest`)).body as { values?: Record<string, { value: unknown }> }).values?.[key]?.value;
const provisionBody = (deviceName: string, k = key) => ({ deviceName, provisionDeviceKey: k.key, provisionDeviceSecret: k.secret });
const devicesWithSerial = async (serial: string) =>
  ((await get(`/api/v1/devices?q=${encodeURIComponent(serial)}`)).body.items as { id: string; serial: string }[]).filter((d) => d.serial === serial);

/** One MQTT provisioning exchange: connect as `provision`, subscribe, publish, the response. */
async function provisionOverMqtt(body: unknown): Promise<Record<string, unknown>> {
  const c: MqttClient = await connectMqtt(s.mqttUrl, { username: 'provision' });
  try {
    await c.subscribeAsync('/provision/response');
    const response = new Promise<Record<string, unknown>>((resolve) => c.once('message', (_t, p) => resolve(JSON.parse(p.toString()))));
    await publish(c, '/provision/request', JSON.stringify(body));
    return await response;
  } finally {
    await c.endAsync();
  }
}

beforeAll(async () => {
  s = await startServer();
  admin = (await post('/api/v1/auth/login', ADMIN)).body.accessToken as string;
  projectId = (await post('/api/v1/projects', { name: 'Trackers' }, admin)).body.id as string;
}, 60_000);
afterAll(() => s?.close());

describe('provisioning key', () => {
  it('is created with its secret shown once, then read without it', async () => {
    expect((await get(`/api/v1/projects/${projectId}/provisioning`)).body).toBeNull();
    const created = await post(`/api/v1/projects/${projectId}/provisioning`, {}, admin);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ projectId, enabled: true, allowReprovision: false });
    key = { key: created.body.key as string, secret: created.body.secret as string };
    expect(key.secret).toMatch(/^ps_/);
    const read = await get(`/api/v1/projects/${projectId}/provisioning`);
    expect(read.body).toMatchObject({ key: key.key, enabled: true });
    expect(read.body).not.toHaveProperty('secret');
  });
});

describe('self-provisioning over HTTP', () => {
  it('gives a new device in the project its id and token, which then publishes', async () => {
    const r = await post('/api/v1/provision', provisionBody('SN-0001'));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'SUCCESS', credentialsType: 'ACCESS_TOKEN' });
    const deviceId = r.body.deviceId as string;
    const device = (await get(`/api/v1/devices/${deviceId}`)).body;
    expect(device).toMatchObject({ id: deviceId, projectId, serial: 'SN-0001', name: 'SN-0001' });
    const sent = await httpJson(`${s.httpUrl}/api/v1/device/telemetry`, {
      method: 'POST',
      token: r.body.credentialsValue as string,
      body: JSON.stringify({ temperature: 19.25 }),
    });
    expect(sent.status).toBe(202);
    await until(async () => (await latest(deviceId, 'temperature')) === 19.25);
  });

  it('refuses a second request for the same serial while re-provisioning is off', async () => {
    const again = await post('/api/v1/provision', provisionBody('SN-0001'));
    expect(again.status).toBe(409);
    expect(again.body.error?.code).toBe('DEVICE_ALREADY_PROVISIONED');
    expect(await devicesWithSerial('SN-0001')).toHaveLength(1);
  });

  it('refuses a wrong secret or key with one code and creates nothing', async () => {
    const wrongSecret = await post('/api/v1/provision', provisionBody('SN-0002', { key: key.key, secret: 'ps_wrong' }));
    const wrongKey = await post('/api/v1/provision', provisionBody('SN-0002', { key: 'pk_nope', secret: key.secret }));
    for (const r of [wrongSecret, wrongKey]) {
      expect(r.status).toBe(401);
      expect(r.body.error?.code).toBe('PROVISIONING_FAILED');
    }
    expect(await devicesWithSerial('SN-0002')).toHaveLength(0);
  });

  it('with re-provisioning on, answers the same device with a new token and revokes the old one', async () => {
    expect((await patch(`/api/v1/projects/${projectId}/provisioning`, { allowReprovision: true })).body.allowReprovision).toBe(true);
    const first = await post('/api/v1/provision', provisionBody('SN-0003'));
    const second = await post('/api/v1/provision', provisionBody('SN-0003'));
    expect(second.status).toBe(200);
    expect(second.body.deviceId).toBe(first.body.deviceId);
    expect(second.body.credentialsValue).not.toBe(first.body.credentialsValue);
    const publishWith = (token: unknown) =>
      httpJson(`${s.httpUrl}/api/v1/device/telemetry`, { method: 'POST', token: token as string, body: JSON.stringify({ v: 1 }) });
    expect((await publishWith(first.body.credentialsValue)).status).toBe(401);
    expect((await publishWith(second.body.credentialsValue)).status).toBe(202);
    await patch(`/api/v1/projects/${projectId}/provisioning`, { allowReprovision: false });
  });

  it('refuses everything once the key is disabled, and a rotation voids the old secret', async () => {
    await patch(`/api/v1/projects/${projectId}/provisioning`, { enabled: false });
    expect((await post('/api/v1/provision', provisionBody('SN-0004'))).body.error?.code).toBe('PROVISIONING_FAILED');
    const rotated = await post(`/api/v1/projects/${projectId}/provisioning`, {}, admin);
    expect(rotated.body.enabled).toBe(true);
    expect((await post('/api/v1/provision', provisionBody('SN-0004'))).status).toBe(401);
    key = { key: rotated.body.key as string, secret: rotated.body.secret as string };
    expect((await post('/api/v1/provision', provisionBody('SN-0004'))).status).toBe(200);
  });

  it('without a deviceName (ThingsBoard allows it) makes a new device each time, with a generated name and no serial', async () => {
    const body = { provisionDeviceKey: key.key, provisionDeviceSecret: key.secret };
    const first = await post('/api/v1/provision', body);
    const second = await post('/api/v1/provision', body);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.body.deviceId).not.toBe(first.body.deviceId);
    const names = new Set<string>();
    for (const r of [first, second]) {
      const device = (await get(`/api/v1/devices/${r.body.deviceId as string}`)).body;
      expect(device).toMatchObject({ projectId, serial: null });
      expect(device.name).toMatch(/^[\w-]{20}$/);
      names.add(device.name as string);
    }
    expect(names.size).toBe(2);
    // A name that is only blanks is no serial: refused, as on ThingsBoard.
    const blank = await post('/api/v1/provision', { ...body, deviceName: '   ' });
    expect([blank.status, blank.body.error?.code]).toEqual([400, 'VALIDATION_FAILED']);
  });
});

describe('self-provisioning over MQTT', () => {
  it('answers on /provision/response; the token then signs in ThingsBoard-style and its telemetry is stored', async () => {
    const r = await provisionOverMqtt(provisionBody('SN-MQTT-1'));
    expect(r).toMatchObject({ status: 'SUCCESS', credentialsType: 'ACCESS_TOKEN' });
    const device = await connectMqtt(s.mqttUrl, { username: r.credentialsValue as string });
    await publish(device, 'v1/devices/me/telemetry', JSON.stringify({ humidity: 41 }));
    await device.endAsync();
    await until(async () => (await latest(r.deviceId as string, 'humidity')) === 41);
    expect((await get(`/api/v1/devices/${r.deviceId as string}`)).body).toMatchObject({ serial: 'SN-MQTT-1', projectId });
  });

  it('provisions without a deviceName, as ThingsBoard’s SDKs ask by default', async () => {
    const r = await provisionOverMqtt({ provisionDeviceKey: key.key, provisionDeviceSecret: key.secret });
    expect(r).toMatchObject({ status: 'SUCCESS', credentialsType: 'ACCESS_TOKEN' });
    expect((await get(`/api/v1/devices/${r.deviceId as string}`)).body).toMatchObject({ projectId, serial: null });
  });

  it('answers a wrong secret or a repeated serial with FAILURE and its code, creating nothing', async () => {
    const bad = await provisionOverMqtt(provisionBody('SN-MQTT-2', { key: key.key, secret: 'ps_wrong' }));
    expect(bad).toMatchObject({ status: 'FAILURE', code: 'PROVISIONING_FAILED' });
    expect(bad).not.toHaveProperty('credentialsValue');
    expect(await devicesWithSerial('SN-MQTT-2')).toHaveLength(0);
    expect(await provisionOverMqtt(provisionBody('SN-MQTT-1'))).toMatchObject({ status: 'FAILURE', code: 'DEVICE_ALREADY_PROVISIONED' });
    expect(await provisionOverMqtt({ deviceName: 'x' })).toMatchObject({ status: 'FAILURE', code: 'VALIDATION_FAILED' });
  });

  it('lets a provisioning connection hear nothing but its own response', async () => {
    const c = await connectMqtt(s.mqttUrl, { username: 'provision' });
    const suback = new Promise<number[]>((resolve) =>
      c.on('packetreceive', (p) => p.cmd === 'suback' && resolve((p as unknown as { granted: number[] }).granted)),
    );
    c.subscribe(['#', 'devices/+/telemetry', '/provision/request', '/provision/response'], () => {});
    // SUBACK 0x80 (refused) for everything but its own response topic.
    expect(await suback).toEqual([128, 128, 128, 0]);
    await c.endAsync();
    // With a password it is no provisioning connection: a bad credential.
    await expect(connectMqtt(s.mqttUrl, { username: 'provision', password: 'x' })).rejects.toThrow();
  });
});

describe('IMEI login (seed 003)', () => {
  const imei = '356938035643809';
  let deviceId: string;

  it('gives a pre-registered device a JWT that signs in over MQTT and HTTP', async () => {
    const created = await post('/api/v1/devices', { name: 'Truck 7', serial: imei, projectId }, admin);
    expect(created.status).toBe(201);
    deviceId = created.body.id as string;
    const login = await post('/api/v1/auth/device-login', { serial: imei, provisionDeviceKey: key.key, provisionDeviceSecret: key.secret });
    expect(login.status).toBe(200);
    expect(login.body.deviceId).toBe(deviceId);
    const jwt = login.body.token as string;
    const c = await connectMqtt(s.mqttUrl, { username: deviceId, password: jwt });
    await publish(c, `devices/${deviceId}/location`, JSON.stringify({ lat: 37.77, lon: -122.42 }));
    await c.endAsync();
    const sent = await httpJson(`${s.httpUrl}/api/v1/device/telemetry`, { method: 'POST', token: jwt, body: JSON.stringify({ speed: 88 }) });
    expect(sent.status).toBe(202);
    await until(async () => (await latest(deviceId, 'speed')) === 88);
    await until(async () => ((await get(`/api/v1/devices/${deviceId}`)).body.location as { lat?: number } | null)?.lat === 37.77);
  });

  it('refuses a wrong secret and an unknown IMEI', async () => {
    const wrong = await post('/api/v1/auth/device-login', { serial: imei, provisionDeviceKey: key.key, provisionDeviceSecret: 'ps_nope' });
    expect([wrong.status, wrong.body.error?.code]).toEqual([401, 'PROVISIONING_FAILED']);
    const unknown = await post('/api/v1/auth/device-login', { serial: '000000000000000', provisionDeviceKey: key.key, provisionDeviceSecret: key.secret });
    expect([unknown.status, unknown.body.error?.code]).toEqual([404, 'DEVICE_NOT_FOUND']);
    // A serial taken in the org is refused to a second device.
    const dup = await post('/api/v1/devices', { name: 'Clone', serial: imei }, admin);
    expect([dup.status, dup.body.error?.code]).toEqual([409, 'SERIAL_TAKEN']);
  });
});

describe('claim codes (seed 004)', () => {
  let code: string;
  let deviceId: string;
  let otherProject: string;

  it('makes an unclaimed device with a code shown once', async () => {
    const created = await post('/api/v1/devices', { name: 'Meter 12', claimCode: true }, admin);
    expect(created.status).toBe(201);
    code = created.body.claimCode as string;
    expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
    deviceId = created.body.id as string;
    expect(created.body).toMatchObject({ projectId: null, claim: { claimedAt: null } });
    expect((await get(`/api/v1/devices/${deviceId}`)).body).not.toHaveProperty('claimCode');
    const withProject = await post('/api/v1/devices', { name: 'x', claimCode: true, projectId }, admin);
    expect(withProject.body.error?.code).toBe('VALIDATION_FAILED');
  });

  it('claims into a project by the code as typed, idempotently', async () => {
    const wrong = await post('/api/v1/devices/claim', { code: 'AAAA-BBBB-CCCC', projectId }, admin);
    expect([wrong.status, wrong.body.error?.code]).toEqual([404, 'CLAIM_CODE_NOT_FOUND']);
    const typed = code.toLowerCase().replace(/-/g, ' ');
    const claimed = await post('/api/v1/devices/claim', { code: typed, projectId }, admin);
    expect(claimed.status).toBe(200);
    expect(claimed.body).toMatchObject({ id: deviceId, projectId });
    expect((claimed.body.claim as { claimedAt: string | null }).claimedAt).not.toBeNull();
    const again = await post('/api/v1/devices/claim', { code, projectId }, admin);
    expect([again.status, again.body.id]).toEqual([200, deviceId]);
    otherProject = (await post('/api/v1/projects', { name: 'Elsewhere' }, admin)).body.id as string;
    const elsewhere = await post('/api/v1/devices/claim', { code, projectId: otherProject }, admin);
    expect([elsewhere.status, elsewhere.body.error?.code]).toEqual([409, 'DEVICE_ALREADY_CLAIMED']);
  });

  it('unclaims back to the pool, and the code claims it again', async () => {
    const un = await post(`/api/v1/devices/${deviceId}/unclaim`, {}, admin);
    expect(un.status).toBe(200);
    expect(un.body).toMatchObject({ projectId: null, claim: { claimedAt: null } });
    const twice = await post(`/api/v1/devices/${deviceId}/unclaim`, {}, admin);
    expect(twice.body.error?.code).toBe('DEVICE_NOT_CLAIMED');
    expect((await post('/api/v1/devices/claim', { code, projectId: otherProject }, admin)).body.projectId).toBe(otherProject);
  });

  it('is invisible to another org: its users can neither claim nor see the device', async () => {
    const ownerA = new TetherClient({ baseUrl: s.httpUrl });
    await ownerA.login(ADMIN.email, ADMIN.password);
    const orgB = (await ownerA.orgs.create('Org B')).id;
    const adminInB = new TetherClient({ baseUrl: s.httpUrl });
    await adminInB.login(ADMIN.email, ADMIN.password, orgB);
    await adminInB.users.create({ email: 'b@b.test', password: 'b-password-123', name: 'B', role: 'admin' });
    const b = (await post('/api/v1/auth/login', { email: 'b@b.test', password: 'b-password-123' })).body.accessToken as string;
    const projectB = (await post('/api/v1/projects', { name: 'B plant' }, b)).body.id as string;
    await post(`/api/v1/devices/${deviceId}/unclaim`, {}, admin);
    const steal = await post('/api/v1/devices/claim', { code, projectId: projectB }, b);
    expect([steal.status, steal.body.error?.code]).toEqual([404, 'CLAIM_CODE_NOT_FOUND']);
    expect((await post('/api/v1/devices/claim', { code, projectId }, b)).body.error?.code).toBe('PROJECT_NOT_FOUND');
    expect((await get(`/api/v1/devices/${deviceId}`, b)).body.error?.code).toBe('DEVICE_NOT_FOUND');
    expect((await get(`/api/v1/devices?q=SN-`, b)).body.total).toBe(0);
    expect((await get(`/api/v1/projects/${projectId}/provisioning`, b)).body.error?.code).toBe('PROJECT_NOT_FOUND');
    // A's provisioning key puts devices in A's project, whoever sends it.
    expect((await get(`/api/v1/devices/${deviceId}`)).body.projectId).toBeNull();
  });

  it('audits every write and never stores a secret, token or code', async () => {
    const rows = await s.tether.db.query<{ action: string; details: unknown }>('SELECT action, details FROM audit_log ORDER BY created_at');
    const actions = new Set(rows.map((r) => r.action));
    for (const a of [
      'provisioning.key_create',
      'provisioning.key_rotate',
      'provisioning.key_update',
      'device.provision',
      'device.reprovision',
      'device.claim_code',
      'device.claim',
      'device.unclaim',
    ])
      expect(actions).toContain(a);
    const all = JSON.stringify(rows);
    expect(all).not.toContain(key.secret);
    expect(all).not.toContain(code);
    expect(all).not.toMatch(/dt_/);
  });

  it('limits claim attempts per user', async () => {
    let last = 0;
    for (let i = 0; i < 25 && last !== 429; i++)
      last = (await post('/api/v1/devices/claim', { code: `ZZZZ-ZZZZ-${String(i).padStart(4, '0')}`, projectId }, admin)).status;
    expect(last).toBe(429);
  });
});
