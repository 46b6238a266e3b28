/**
 * DevicesService against a real database: PGlite by default, Postgres when
 * DATABASE_URL is set. Events go to a recording stub.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { testDatabase } from '../../../test/helpers.js';
import type { Database } from '../../platform/db/database.js';
import { JwtSigner, fixedKey } from '../../platform/security/jwt.js';
import type { Actor } from '../accounts/actor.js';
import { TemplatesService } from '../templates/templates.service.js';
import { ProjectsService } from '../projects/projects.service.js';
import { EventBus } from '../../platform/bus/event-bus.js';
import { createLogger } from '../../platform/observability/logger.js';
import type { DomainBus, DomainEvents } from '../events/domain-events.js';
import { DevicesService } from './devices.service.js';

const SECRET = 'd'.repeat(48);
const JWT_TTL_S = 3600;

/** Devices whose sessions the service ended (revoked credentials, or deleted), as the bus tells every node. */
class RecordingEvents {
  revoked: string[] = [];
  constructor(readonly bus: DomainBus) {
    bus.on('device.credentials_revoked', ({ deviceId }) => void this.revoked.push(deviceId));
    bus.on('device.deleted', ({ deviceId }) => void this.revoked.push(deviceId));
  }
  /** Events are delivered after the emitting call returns. */
  async settled(): Promise<string[]> {
    await new Promise((r) => setImmediate(r));
    return this.revoked;
  }
}

let db: Database;
let close: () => Promise<void>;
let events: RecordingEvents;
let devices: DevicesService;
let projects: ProjectsService;
let orgA: Actor;
let orgB: Actor;

async function buildOrg(name: string, role: Actor['role'] = 'admin'): Promise<Actor> {
  const [o] = await db.query<{ id: string }>('INSERT INTO orgs (name) VALUES ($1) RETURNING id', [name]);
  return { kind: 'api_key', orgId: o!.id, role, userId: null, apiKeyId: null };
}
const buildDevice = (actor: Actor = orgA, name = 'device') => devices.create(actor, { name });
const tokenHashes = async (deviceId: string) =>
  db.query<{ token_hash: string; revoked_at: Date | null }>('SELECT token_hash, revoked_at FROM device_credentials WHERE device_id = $1 ORDER BY created_at', [
    deviceId,
  ]);

beforeAll(async () => {
  ({ db, close } = await testDatabase());
  events = new RecordingEvents(new EventBus<DomainEvents>(null, createLogger('silent')));
  projects = new ProjectsService(db);
  devices = new DevicesService({
    db,
    projects,
    templates: new TemplatesService(db),
    signer: new JwtSigner(fixedKey(SECRET)),
    defaultTimeoutS: 300,
    deviceJwtTtlS: JWT_TTL_S,
    bus: events.bus,
  });
  orgA = await buildOrg('A');
  orgB = await buildOrg('B');
});
afterAll(async () => {
  await close?.();
});
beforeEach(() => {
  events.revoked = [];
});

describe('create', () => {
  it('returns the token once and stores only its hash', async () => {
    const { device, token } = await buildDevice(orgA, 'hashed');
    expect(token).toMatch(/^dt_.{20,}/);
    expect(device).toMatchObject({ name: 'hashed', orgId: orgA.orgId, projectId: null, status: { online: false, lastSeenAt: null } });
    expect(JSON.stringify(device)).not.toContain(token);
    const creds = await tokenHashes(device.id);
    expect(creds).toHaveLength(1);
    expect(creds[0]!.token_hash).not.toBe(token);
    expect(creds[0]!.token_hash).not.toContain(token.slice(3));
    expect(creds[0]!.revoked_at).toBeNull();
  });

  it('needs the admin role, a name, and a project of the same org', async () => {
    await expect(devices.create({ ...orgA, role: 'operator' }, { name: 'x' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(devices.create(orgA, { name: '   ' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    const projectB = await projects.create(orgB, { name: 'B project' });
    await expect(devices.create(orgA, { name: 'x', projectId: projectB.id })).rejects.toMatchObject({ code: 'PROJECT_NOT_FOUND' });
    await expect(devices.create(orgA, { name: 'x', projectId: 'nope' })).rejects.toMatchObject({ code: 'INVALID_ID' });
    const projectA = await projects.create(orgA, { name: 'A project' });
    expect((await devices.create(orgA, { name: 'x', projectId: projectA.id })).device.projectId).toBe(projectA.id);
  });
});

describe('authentication', () => {
  it('accepts the device id with its token, and nothing else', async () => {
    const { device, token } = await buildDevice();
    const other = await buildDevice();
    expect(await devices.authenticate(device.id, token)).toEqual({ deviceId: device.id, orgId: orgA.orgId, projectId: null });
    expect(await devices.authenticate(device.id.toUpperCase(), token)).toEqual({ deviceId: device.id, orgId: orgA.orgId, projectId: null });
    expect(await devices.authenticate(device.id, `${token}x`)).toBeNull();
    expect(await devices.authenticate(device.id, other.token)).toBeNull();
    expect(await devices.authenticate(other.device.id, token)).toBeNull();
    expect(await devices.authenticate(device.id, '')).toBeNull();
    expect(await devices.authenticate('not-a-uuid', token)).toBeNull();
    expect(await devices.authenticate(randomUUID(), token)).toBeNull();
    // By token alone (HTTP device API, ThingsBoard-style MQTT).
    expect((await devices.authenticateToken(token))?.deviceId).toBe(device.id);
    expect(await devices.authenticateToken('dt_unknown')).toBeNull();
    expect(await devices.authenticateToken('')).toBeNull();
  });

  it('rotation issues a working token, revokes the old one and drops live sessions', async () => {
    const { device, token } = await buildDevice();
    const rotated = await devices.rotateCredentials(orgA, device.id);
    expect(rotated.deviceId).toBe(device.id);
    expect(rotated.token).not.toBe(token);
    expect(await devices.authenticate(device.id, token)).toBeNull();
    expect(await devices.authenticateToken(token)).toBeNull();
    expect((await devices.authenticate(device.id, rotated.token))?.deviceId).toBe(device.id);
    expect(await events.settled()).toEqual([device.id]);
    const creds = await tokenHashes(device.id);
    expect(creds.map((c) => c.revoked_at === null)).toEqual([false, true]);
    expect(creds.map((c) => c.token_hash)).not.toContain(rotated.token);
  });

  it('revocation leaves the device without a working token', async () => {
    const { device, token } = await buildDevice();
    await devices.revokeCredentials(orgA, device.id);
    expect(await devices.authenticate(device.id, token)).toBeNull();
    expect(await devices.authenticateToken(token)).toBeNull();
    expect(await events.settled()).toEqual([device.id]);
  });
});

describe('device JWTs', () => {
  it('are issued for a device and verify to its id', async () => {
    const { device } = await buildDevice();
    const before = Date.now();
    const jwt = await devices.issueJwtForUser(orgA, device.id);
    expect(jwt.deviceId).toBe(device.id);
    const expiresAt = Date.parse(jwt.expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(before + JWT_TTL_S * 1000 - 1000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + JWT_TTL_S * 1000);
    const v = await devices.verifyJwt(jwt.token);
    expect(v).toMatchObject({ valid: true, deviceId: device.id });
    expect(Math.abs(Date.parse(v.expiresAt!) - expiresAt)).toBeLessThan(1000);
    // A JWT works as the MQTT password of its own device only.
    expect((await devices.authenticate(device.id, jwt.token))?.deviceId).toBe(device.id);
    const other = await buildDevice();
    expect(await devices.authenticate(other.device.id, jwt.token)).toBeNull();
    expect((await devices.authenticateToken(jwt.token))?.deviceId).toBe(device.id);
  });

  it('refuses tampered, foreign, expired and user tokens', async () => {
    const { device } = await buildDevice();
    const { token } = await devices.issueJwtForUser(orgA, device.id);
    const [h, p, sig] = token.split('.') as [string, string, string];
    const flipped = `${h}.${p}.${sig.slice(0, -2)}${sig.endsWith('AA') ? 'BB' : 'AA'}`;
    expect(await devices.verifyJwt(flipped)).toMatchObject({ valid: false, deviceId: null });
    expect(await devices.verifyJwt(await new JwtSigner(fixedKey('x'.repeat(48))).sign({}, device.id, 'tether:device', 60))).toMatchObject({ valid: false });
    expect(await devices.verifyJwt(await new JwtSigner(fixedKey(SECRET)).sign({}, device.id, 'tether:device', -60))).toMatchObject({
      valid: false,
      reason: 'expired',
    });
    expect(await devices.verifyJwt(await new JwtSigner(fixedKey(SECRET)).sign({}, device.id, 'tether:user', 60))).toMatchObject({ valid: false });
    expect(await devices.verifyJwt('abc.def.ghi')).toMatchObject({ valid: false });
    expect(await devices.verifyJwt('not a jwt')).toMatchObject({ valid: false, reason: 'malformed' });
  });

  it('stop working once the device is deleted', async () => {
    const { device } = await buildDevice();
    const { token } = await devices.issueJwtForUser(orgA, device.id);
    await devices.delete(orgA, device.id);
    expect(await events.settled()).toEqual([device.id]);
    expect(await devices.verifyJwt(token)).toMatchObject({ valid: false, deviceId: null });
    expect(await devices.authenticate(device.id, token)).toBeNull();
    expect(await devices.authenticateToken(token)).toBeNull();
  });

  // verifyJwt caches verified tokens; delete() does not clear the cache.
  it('stop working once the device is deleted, even if verified before', async () => {
    const { device } = await buildDevice();
    const { token } = await devices.issueJwtForUser(orgA, device.id);
    expect((await devices.verifyJwt(token)).valid).toBe(true);
    await devices.delete(orgA, device.id);
    expect(await devices.verifyJwt(token)).toMatchObject({ valid: false, deviceId: null });
  });

  // Revoking credentials leaves the device's JWTs valid: it can still connect over MQTT.
  it('stop working once the device’s credentials are revoked', async () => {
    const { device } = await buildDevice();
    const { token } = await devices.issueJwtForUser(orgA, device.id);
    await devices.revokeCredentials(orgA, device.id);
    expect(await devices.authenticate(device.id, token)).toBeNull();
  });

  it('are issued only for devices of the caller’s org, to operators and up', async () => {
    const { device } = await buildDevice(orgA);
    await expect(devices.issueJwtForUser(orgB, device.id)).rejects.toMatchObject({ code: 'DEVICE_NOT_FOUND' });
    await expect(devices.issueJwtForUser({ ...orgA, role: 'viewer' }, device.id)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect((await devices.issueJwtForUser({ ...orgA, role: 'operator' }, device.id)).deviceId).toBe(device.id);
  });
});

describe('org scoping and ids', () => {
  it('another org’s device is DEVICE_NOT_FOUND for every operation, and is left unchanged', async () => {
    const { device, token } = await buildDevice(orgA, 'private');
    await expect(devices.get(orgB, device.id)).rejects.toMatchObject({ code: 'DEVICE_NOT_FOUND' });
    await expect(devices.status(orgB, device.id)).rejects.toMatchObject({ code: 'DEVICE_NOT_FOUND' });
    await expect(devices.update(orgB, device.id, { name: 'stolen' })).rejects.toMatchObject({ code: 'DEVICE_NOT_FOUND' });
    await expect(devices.delete(orgB, device.id)).rejects.toMatchObject({ code: 'DEVICE_NOT_FOUND' });
    await expect(devices.rotateCredentials(orgB, device.id)).rejects.toMatchObject({ code: 'DEVICE_NOT_FOUND' });
    await expect(devices.revokeCredentials(orgB, device.id)).rejects.toMatchObject({ code: 'DEVICE_NOT_FOUND' });
    expect((await devices.list(orgB, {})).items.map((d) => d.id)).not.toContain(device.id);
    expect(await events.settled()).toEqual([]);
    expect((await devices.get(orgA, device.id)).name).toBe('private');
    expect((await devices.authenticate(device.id, token))?.deviceId).toBe(device.id);
  });

  it('a device cannot be moved into another org’s project', async () => {
    const { device } = await buildDevice(orgA);
    const projectB = await projects.create(orgB, { name: 'B target' });
    await expect(devices.update(orgA, device.id, { projectId: projectB.id })).rejects.toMatchObject({ code: 'PROJECT_NOT_FOUND' });
    expect((await devices.get(orgA, device.id)).projectId).toBeNull();
  });

  it('a malformed id is INVALID_ID, never a database error', async () => {
    for (const id of ['not-a-uuid', '', "'; DROP TABLE devices; --", '00000000-0000-0000-0000-00000000000g']) {
      await expect(devices.get(orgA, id)).rejects.toMatchObject({ code: 'INVALID_ID' });
      await expect(devices.delete(orgA, id)).rejects.toMatchObject({ code: 'INVALID_ID' });
      await expect(devices.update(orgA, id, { name: 'x' })).rejects.toMatchObject({ code: 'INVALID_ID' });
    }
    await expect(devices.list(orgA, { projectId: 'nope' })).rejects.toMatchObject({ code: 'INVALID_ID' });
    expect(await devices.identity('nope')).toBeNull();
  });

  // delete() passes the id as the caller spelled it; the broker keys sessions by the lower-case id,
  // so DELETE /devices/<UPPER-CASE id> leaves the deleted device connected.
  it('delete tells listeners the canonical id whatever its case', async () => {
    const { device } = await buildDevice();
    await devices.delete(orgA, device.id.toUpperCase());
    await expect(devices.get(orgA, device.id)).rejects.toMatchObject({ code: 'DEVICE_NOT_FOUND' });
    expect(await events.settled()).toEqual([device.id]);
  });

  it('an unknown id is DEVICE_NOT_FOUND', async () => {
    await expect(devices.get(orgA, randomUUID())).rejects.toMatchObject({ code: 'DEVICE_NOT_FOUND' });
  });
});
