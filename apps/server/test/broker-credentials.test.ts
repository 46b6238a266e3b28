/**
 * Issue 12 §4: device credentials kept in step with an external Mosquitto
 * through its dynamic security plugin (TETHER_BROKER_CREDENTIALS=mosquitto-dynsec).
 * A private Mosquitto 2 with the plugin, initialised as the README says
 * (`mosquitto_ctrl dynsec init … tether <password>`), and one `tether start`
 * with MQTT_URL: a device created through the API connects to the broker with
 * its token and nothing else; rotate, revoke and delete take effect at the
 * broker; a broker that cannot take a token makes the API refuse, with nothing
 * committed; a reconcile removes what a failed removal left.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TetherClient, ApiError } from '@tether/api-client';
import { ADMIN, httpJson, until } from './helpers.js';
import { commandRoundTrip, privateMosquitto, type PrivateMosquitto } from './private-mosquitto.js';
import { scratchServerEnv, spawnServer, type ServerProcess } from './process-helpers.js';

const SERVICE = { user: 'tether', password: 'tether-dynsec-admin-secret' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Connects, or resolves with the CONNACK reason code the broker refused with. */
function tryConnect(port: number, opts: IClientOptions): Promise<{ client: MqttClient } | { refused: number | string }> {
  return new Promise((resolve) => {
    const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    const refused = (err: Error & { code?: number | string }) => {
      client.end(true);
      resolve({ refused: err.code ?? err.message });
    };
    client.once('error', refused);
    client.once('connect', () => {
      // Later errors (a PUBACK with a reason code is one) belong to the test, not to the connect.
      client.off('error', refused);
      client.on('error', () => {});
      resolve({ client });
    });
  });
}

describe('external Mosquitto with credentials synced through its dynamic security plugin', () => {
  let mosquitto: PrivateMosquitto;
  let scratch: Awaited<ReturnType<typeof scratchServerEnv>>;
  let node: ServerProcess;
  let api: TetherClient;
  const clients: MqttClient[] = [];
  const env = () => ({
    ...scratch.env,
    TETHER_JWT_SECRET: 'a-cluster-secret-of-at-least-32-characters',
    MQTT_URL: mosquitto.urlFor(SERVICE.user, SERVICE.password),
    TETHER_BROKER_CREDENTIALS: 'mosquitto-dynsec',
  });
  const connect = async (d: { id: string; token: string }, extra: IClientOptions = {}) => {
    const r = await tryConnect(mosquitto.port, { username: d.id, password: d.token, ...extra });
    if (!('client' in r)) throw new Error(`device ${d.id} refused by the broker: ${r.refused}`);
    clients.push(r.client);
    return r.client;
  };
  const brokerClients = () => mosquitto.dynsecState().clients.map((c) => c.username);
  const closed = (c: MqttClient) => new Promise<void>((resolve) => c.once('close', () => resolve()));

  beforeAll(async () => {
    mosquitto = await privateMosquitto(SERVICE, { auth: 'dynsec' });
    scratch = await scratchServerEnv();
    node = await spawnServer(env());
    api = new TetherClient({ baseUrl: node.httpUrl });
    await api.login(ADMIN.email, ADMIN.password);
  }, 90_000);

  afterAll(async () => {
    for (const c of clients) c.end(true);
    node?.proc.kill('SIGKILL');
    await node?.exited;
    await scratch?.drop();
    await mosquitto?.close();
  });

  it("gives Tether's own client its service role, and consumes through it", async () => {
    const tether = mosquitto.dynsecState().clients.find((c) => c.username === SERVICE.user)!;
    expect(tether.roles?.map((r) => r.rolename).sort()).toEqual(['admin', 'tether-service']);
    const ready = await httpJson(`${node.httpUrl}/readyz`);
    expect(ready.body).toMatchObject({ status: 'ready', checks: { broker: true, brokerCredentials: true } });
  });

  it('lets a device created through the API connect with its token, publish its own topics only, and stores what it sends', async () => {
    const a = await api.devices.create({ name: 'dynsec-a' });
    const b = await api.devices.create({ name: 'dynsec-b' });
    expect(brokerClients()).toEqual(expect.arrayContaining([a.id, b.id]));
    // A wrong password, and another device's token, are refused at the broker (MQTT 5 CONNACK 0x86 / 0x87).
    const wrong = await tryConnect(mosquitto.port, { username: a.id, password: 'dt_not-the-token' });
    expect(wrong).toMatchObject({ refused: expect.any(Number) });
    expect(await tryConnect(mosquitto.port, { username: a.id, password: b.token })).toMatchObject({ refused: expect.any(Number) });

    const device = await connect(a);
    const seqs = Array.from({ length: 20 }, (_, i) => i);
    // No `ts`: each is stored at its receive time.
    await Promise.all(seqs.map((seq) => device.publishAsync(`devices/${a.id}/telemetry`, JSON.stringify({ seq, temperature: 21.5 }), { qos: 1 })));
    const stored = await until(async () => {
      const page = await api.devices.messages(a.id, { limit: 100 });
      return page.items.length >= 20 ? page.items : null;
    });
    expect(new Set(stored.map((m) => (m.payload as { seq: number }).seq))).toEqual(new Set(seqs));

    // Another device's tree: the broker refuses the publish (PUBACK 0x87) and the subscription (SUBACK 0x87).
    // mqtt.js rejects a publish whose PUBACK carries an error reason code, with the code.
    const refusedWith = (p: Promise<unknown>) =>
      p.then(
        () => 0,
        (err: { code?: number }) => err.code,
      );
    expect(await refusedWith(device.publishAsync(`devices/${b.id}/telemetry`, JSON.stringify({ seq: 1 }), { qos: 1 }))).toBe(0x87);
    await expect(device.subscribeAsync(`devices/${b.id}/config`, { qos: 1 })).rejects.toThrow(/Not authorized/);
    // Its own downlink topics it may subscribe to, not its own uplink; its own config it may not publish.
    expect((await device.subscribeAsync(`devices/${a.id}/commands/+`, { qos: 1 }))[0]!.qos).toBe(1);
    await expect(device.subscribeAsync(`devices/${a.id}/telemetry`, { qos: 1 })).rejects.toThrow(/Not authorized/);
    expect(await refusedWith(device.publishAsync(`devices/${a.id}/config`, '{}', { qos: 1 }))).toBe(0x87);
    await sleep(300);
    expect((await api.devices.messages(b.id, { limit: 10 })).items).toHaveLength(0);
  }, 60_000);

  it('sends commands to the device through the broker and stores the result (the service role publishes)', async () => {
    const d = await api.devices.create({ name: 'dynsec-commands' });
    const device = await connect(d);
    expect(await commandRoundTrip(api, device, d.id)).toEqual({ echoed: 'reboot' });
  }, 60_000);

  it('rotating the token ends the session on the old one at the broker; the new one connects', async () => {
    const d = await api.devices.create({ name: 'dynsec-rotate' });
    const device = await connect(d);
    const ended = closed(device);
    const { token } = await api.devices.rotateToken(d.id);
    await ended;
    expect(await tryConnect(mosquitto.port, { username: d.id, password: d.token })).toMatchObject({ refused: expect.any(Number) });
    await connect({ id: d.id, token });
  }, 30_000);

  it('revoking or deleting ends the session and removes the client and its role from the broker', async () => {
    const r = await api.devices.create({ name: 'dynsec-revoke' });
    const revoked = await connect(r);
    const revokedEnded = closed(revoked);
    expect((await httpJson(`${node.httpUrl}/api/v1/devices/${r.id}/credentials/revoke`, { method: 'POST', token: api.token! })).status).toBe(204);
    await revokedEnded;
    expect(await tryConnect(mosquitto.port, { username: r.id, password: r.token })).toMatchObject({ refused: expect.any(Number) });

    const d = await api.devices.create({ name: 'dynsec-delete' });
    const deleted = await connect(d);
    const deletedEnded = closed(deleted);
    await api.devices.delete(d.id);
    await deletedEnded;
    const state = mosquitto.dynsecState();
    for (const id of [r.id, d.id]) {
      expect(state.clients.map((c) => c.username)).not.toContain(id);
      expect(state.roles.map((x) => x.rolename)).not.toContain(`tether-device-${id}`);
    }
  }, 30_000);

  it('refuses to create a device while the broker cannot take its token, and commits nothing', async () => {
    const before = (await api.devices.list({ q: 'dynsec-while-down' })).total;
    await mosquitto.stop();
    try {
      const err = await api.devices.create({ name: 'dynsec-while-down' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect(err).toMatchObject({ status: 503, code: 'BROKER_UNAVAILABLE' });
      expect((await api.devices.list({ q: 'dynsec-while-down' })).total).toBe(before);
      const ready = await httpJson(`${node.httpUrl}/readyz`);
      expect(ready).toMatchObject({ status: 503, body: { checks: { brokerCredentials: false } } });
    } finally {
      await mosquitto.start();
    }
    await until(async () => (await httpJson(`${node.httpUrl}/readyz`)).status === 200, 30_000);
    const d = await api.devices.create({ name: 'dynsec-after-outage' });
    await connect(d);
  }, 90_000);

  it("a reconcile at start removes a client the broker kept for a device Tether no longer has, and counts devices the broker doesn't know", async () => {
    // What a removal that never reached the broker leaves: a device client with no device behind it,
    // synced long ago. And a device whose token the broker never got (created with the sync off).
    const ghost = randomUUID();
    const run = (...args: string[]) => execFileSync('mosquitto_ctrl', [...ctrl, ...args], { stdio: 'pipe' });
    const ctrl = ['-h', '127.0.0.1', '-p', String(mosquitto.port), '-u', SERVICE.user, '-P', SERVICE.password, 'dynsec'];
    run('createRole', `tether-device-${ghost}`);
    run('createClient', ghost, '-p', 'old-token');
    run('addClientRole', ghost, `tether-device-${ghost}`);
    const unsynced = await api.devices.create({ name: 'dynsec-unsynced' });
    run('deleteClient', unsynced.id);
    expect(brokerClients()).toContain(ghost);

    node.proc.kill('SIGTERM');
    await node.exited;
    node = await spawnServer(env());
    api = new TetherClient({ baseUrl: node.httpUrl });
    await api.login(ADMIN.email, ADMIN.password);
    await until(async () => !brokerClients().includes(ghost));
    await until(async () => /MQTT broker credentials reconciled/.test(node.output()));
    expect(node.output()).toMatch(/"removed":1/);
    expect(node.output()).toMatch(/"missing":1\b/);
    expect(node.output()).toMatch(/rotate their credentials/);
    // Rotating gives it to the broker.
    const { token } = await api.devices.rotateToken(unsynced.id);
    await connect({ id: unsynced.id, token });
  }, 90_000);

  it('is a configuration error without MQTT_URL', async () => {
    const dir = fs.mkdtempSync(`${scratch.dataDir}/bad-`);
    const { MQTT_URL: _unused, ...rest } = env();
    await expect(spawnServer({ ...rest, TETHER_DATA_DIR: dir }, 20_000)).rejects.toThrow(/TETHER_BROKER_CREDENTIALS: a setting of the external broker mode/);
  }, 30_000);
});
