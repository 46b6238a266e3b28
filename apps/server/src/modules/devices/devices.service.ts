import type { Database, Queryable } from '../../platform/db/database.js';
import { AuditLog } from '../audit/audit.repository.js';
import { AppError, assertUuid, isUuid, notFound } from '../errors.js';
import { JwtSigner, looksLikeJwt } from '../../platform/security/jwt.js';
import { randomBytes } from 'node:crypto';
import { hashToken, randomToken } from '../../platform/security/secrets.js';
import { requireRole, type Actor } from '../accounts/actor.js';
import type { ProjectsService } from '../projects/projects.service.js';
import type { TemplatesService } from '../templates/templates.service.js';
import { DevicesRepository, type DeviceFilter, type DeviceIdentity, type DevicePlaceRow, type DeviceRow, type DeviceSelection } from './devices.repository.js';

/** A device as a selection returns it (a fleet's members and previews). */
export interface SelectedDevice {
  id: string;
  name: string;
  projectId: string | null;
  templateId: string | null;
  tags: string[];
  firmwareVersion: string | null;
  online: boolean;
}
import type { DomainBus } from '../events/domain-events.js';
import type { CredentialMirror } from './credential-mirror.js';

import { metadataMatch, type DevicePropertyFinder, type DevicePropertyMatch } from './device-search.js';
import type { Device, DeviceCredentials, DeviceJwt, DeviceJwtVerification, DeviceMatch, DevicePositions, DeviceStatus } from './devices.schemas.js';

export type { Device, DeviceIdentity, DeviceMatch, DeviceStatus };

const iso = (d: Date | null) => d?.toISOString() ?? null;

export const toDevice = (r: DeviceRow): Device => ({
  id: r.id,
  orgId: r.org_id,
  projectId: r.project_id,
  name: r.name,
  type: r.type,
  tags: r.tags,
  metadata: r.metadata,
  firmwareVersion: r.firmware_version,
  templateId: r.template_id,
  photoUrl: r.photo_key ? `/api/v1/devices/${r.id}/photo` : null,
  inactivityTimeoutS: r.inactivity_timeout_s,
  status: {
    online: r.online,
    active: r.active,
    lastSeenAt: iso(r.last_seen_at),
    firstSeenAt: iso(r.first_seen_at),
    lastConnectedAt: iso(r.last_connected_at),
    lastDisconnectedAt: iso(r.last_disconnected_at),
    inactivityTimeoutS: r.effective_timeout_s,
  },
  location:
    r.location_lat !== null && r.location_lon !== null && r.location_at ? { lat: r.location_lat, lon: r.location_lon, at: r.location_at.toISOString() } : null,
  retired: r.retired_at ? { at: r.retired_at.toISOString(), reason: r.retired_reason ?? '' } : null,
  serial: r.serial,
  claim: r.claim_code_hash ? { claimedAt: iso(r.claimed_at) } : null,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

/** A device's place in its org, for rules that cover an org, a project, a template or a device. */
export interface DevicePlace {
  deviceId: string;
  orgId: string;
  projectId: string | null;
  templateId: string | null;
  name: string;
}
const toPlace = (r: DevicePlaceRow): DevicePlace => ({ deviceId: r.id, orgId: r.org_id, projectId: r.project_id, templateId: r.template_id, name: r.name });

export interface DeviceInput {
  name: string;
  projectId?: string | null;
  templateId?: string | null;
  type?: string;
  tags?: string[];
  metadata?: Record<string, unknown>;
  inactivityTimeoutS?: number | null;
  serial?: string | null;
}

const DEVICE_AUDIENCE = 'tether:device';
const DEVICE_TOKEN_PREFIX = 'dt_';

const isUniqueViolation = (err: unknown) => (err as { code?: string }).code === '23505';

/** A serial or IMEI: trimmed, at most 64 printable characters; empty means none. */
function checkSerial(serial: string | null | undefined): string | null | undefined {
  if (serial === undefined || serial === null) return serial;
  const clean = serial.trim();
  if (!clean) return null;
  if (clean.length > 64 || !/^[\x21-\x7e]+$/.test(clean))
    throw new AppError('VALIDATION_FAILED', 'a serial has 1 to 64 printable ASCII characters and no spaces');
  return clean;
}

/** Claim codes use Crockford's base32: no I, L, O or U, so a code read off a label is typed right. */
const CLAIM_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** 12 characters (60 bits) in groups of four: guessing one is hopeless at the claim route's rate limit. */
export function newClaimCode(): string {
  const bytes = randomBytes(12);
  const chars = [...bytes].map((b) => CLAIM_ALPHABET[b & 31]);
  return [0, 4, 8].map((i) => chars.slice(i, i + 4).join('')).join('-');
}

/** The stored form of a code: upper case without separators, the look-alikes read as Crockford reads them, hashed. */
export function claimCodeHash(code: string): string {
  const clean = code.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  return hashToken(`claim:${clean}`);
}

function checkTags(tags: string[] | undefined): string[] | undefined {
  if (!tags) return tags;
  const clean = [...new Set(tags.map((t) => t.trim()).filter(Boolean))];
  if (clean.some((t) => t.length > 64)) throw new AppError('VALIDATION_FAILED', 'a tag has at most 64 characters');
  if (clean.length > 50) throw new AppError('VALIDATION_FAILED', 'a device has at most 50 tags');
  return clean;
}

export interface DevicesServiceDeps {
  db: Database;
  projects: ProjectsService;
  templates: TemplatesService;
  signer: JwtSigner;
  defaultTimeoutS: number;
  deviceJwtTtlS: number;
  /** Tells every node about revoked credentials and deleted devices (their sessions and cached JWTs end). */
  bus: DomainBus;
}

/**
 * A search text finds devices through properties up to this many matches (the best first): the device list
 * takes their ids as a parameter. A text in the properties of more devices finds the first 10,000 of them.
 */
const PROPERTY_MATCHES_MAX = 10_000;

/** A verified JWT is trusted from the cache this long at most, even if a revocation's event were lost. */
const JWT_CACHE_MS = 30_000;

/** Devices: registry, credentials, device JWTs and connection status. */
export class DevicesService {
  private readonly repo: DevicesRepository;
  private readonly audit: AuditLog;
  /** Verified device JWTs, so a device that sends its JWT in every message is verified once. */
  private readonly jwtCache = new Map<string, { deviceId: string; exp: number; keys: number; until: number }>();
  /** An external broker's client list, kept in step with issued tokens (README, External MQTT broker). */
  private mirror: CredentialMirror | null = null;
  /** Finds devices by their properties (the metadata module): a search text finds those too. */
  private propertyFinder: DevicePropertyFinder | null = null;

  constructor(private readonly deps: DevicesServiceDeps) {
    this.repo = new DevicesRepository(deps.db, deps.defaultTimeoutS);
    this.audit = new AuditLog(deps.db);
    // Another node revoked or deleted: its JWTs are refused here from now on.
    const forget = () => this.jwtCache.clear();
    deps.bus.on('device.credentials_revoked', forget);
    deps.bus.on('device.deleted', forget);
    deps.bus.onReconnect(forget);
  }

  attachCredentialMirror(mirror: CredentialMirror): void {
    this.mirror = mirror;
  }

  attachPropertyFinder(finder: DevicePropertyFinder): void {
    this.propertyFinder = finder;
  }

  /**
   * Stores a token in `store`'s transaction and, with a mirror, gives it to the
   * broker before the commit: if the broker refuses or does not answer, nothing
   * is committed (503 BROKER_UNAVAILABLE). If the commit fails after the broker
   * took it, a new device is taken back from the broker.
   */
  private async issue(device: { id?: string; orgId: string }, token: string, store: (tx: Queryable) => Promise<string>): Promise<string> {
    const mirror = this.mirror;
    let mirrored: string | null = null;
    try {
      return await this.deps.db.transaction(async (tx) => {
        const id = await store(tx);
        if (mirror) {
          try {
            await mirror.put({ id, orgId: device.orgId }, token);
          } catch (err) {
            throw new AppError(
              'BROKER_UNAVAILABLE',
              `the MQTT broker did not take the device's credentials, so nothing was changed: ${(err as Error).message}`,
            );
          }
          mirrored = id;
        }
        return id;
      });
    } catch (err) {
      if (mirrored && !device.id) void mirror!.remove(mirrored);
      throw err;
    }
  }

  /**
   * Creates a device; with `claimCode` it is made unclaimed (no project) with a
   * new claim code for its label, returned here only.
   */
  async create(actor: Actor, input: DeviceInput & { claimCode?: boolean }): Promise<{ device: Device; token: string; claimCode?: string }> {
    requireRole(actor, 'admin');
    const name = input.name.trim();
    if (!name) throw new AppError('VALIDATION_FAILED', 'name is required');
    if (input.claimCode && input.projectId) throw new AppError('VALIDATION_FAILED', 'a device with a claim code starts unclaimed: give no projectId');
    const projectId = input.projectId ? await this.deps.projects.assertInOrg(actor, input.projectId) : null;
    const templateId = input.templateId ? (await this.deps.templates.get(actor, input.templateId)).id : null;
    const serial = checkSerial(input.serial) ?? null;
    const claimCode = input.claimCode ? newClaimCode() : undefined;
    const token = randomToken(DEVICE_TOKEN_PREFIX, 24);
    const id = await this.insertDevice(actor.orgId, token, {
      projectId,
      templateId,
      name,
      type: input.type ?? '',
      tags: checkTags(input.tags) ?? [],
      metadata: input.metadata ?? {},
      inactivityTimeoutS: input.inactivityTimeoutS ?? null,
      serial,
      claimCodeHash: claimCode ? claimCodeHash(claimCode) : null,
    });
    await this.audit.record({ orgId: actor.orgId, actor, action: 'device.create', targetKind: 'device', targetId: id, details: { name, projectId, serial } });
    if (claimCode) await this.audit.record({ orgId: actor.orgId, actor, action: 'device.claim_code', targetKind: 'device', targetId: id });
    return { device: await this.get(actor, id), token, ...(claimCode ? { claimCode } : {}) };
  }

  private async insertDevice(orgId: string, token: string, d: Omit<Parameters<DevicesRepository['insert']>[0], 'orgId'>): Promise<string> {
    try {
      return await this.issue({ orgId }, token, (tx) => this.repo.insert({ orgId, ...d }, hashToken(token), tx));
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('SERIAL_TAKEN', `a device with serial "${d.serial}" already exists`);
      throw err;
    }
  }

  /** The org's device with this serial or IMEI (provisioning, IMEI login). */
  bySerial(orgId: string, serial: string): Promise<DeviceIdentity | null> {
    const clean = checkSerial(serial);
    return clean ? this.repo.bySerial(orgId, clean) : Promise.resolve(null);
  }

  /**
   * A device that provisioned itself (no user: the project's provisioning key vouched for it), named by its serial.
   * Without one (null), named as ThingsBoard names it: 20 random characters. 409 SERIAL_TAKEN if the serial exists.
   */
  async createProvisioned(orgId: string, projectId: string, serial: string | null): Promise<{ identity: DeviceIdentity; token: string }> {
    const clean = serial === null ? null : (checkSerial(serial) ?? null);
    if (serial !== null && !clean) throw new AppError('VALIDATION_FAILED', 'deviceName (the serial or IMEI) is empty: send one or leave it out');
    const token = randomToken(DEVICE_TOKEN_PREFIX, 24);
    const deviceId = await this.insertDevice(orgId, token, {
      projectId,
      templateId: null,
      name: clean ?? randomToken('', 15),
      type: '',
      tags: [],
      metadata: {},
      inactivityTimeoutS: null,
      serial: clean,
      claimCodeHash: null,
    });
    return { identity: { deviceId, orgId, projectId }, token };
  }

  /** A new access token for the device, the old one and its JWTs revoked (re-provisioning; no user). */
  async reissueToken(identity: DeviceIdentity): Promise<string> {
    const token = randomToken(DEVICE_TOKEN_PREFIX, 24);
    await this.issue({ id: identity.deviceId, orgId: identity.orgId }, token, async (tx) => {
      await this.repo.rotateCredential(identity.deviceId, hashToken(token), tx);
      return identity.deviceId;
    });
    this.jwtCache.clear();
    this.deps.bus.emit('device.credentials_revoked', { deviceId: identity.deviceId });
    return token;
  }

  /**
   * Claims the device whose label carries `code` into a project of the caller's
   * org. The same code claimed again into the same project answers the same
   * (a retried request); into another project, 409 DEVICE_ALREADY_CLAIMED. An
   * unknown code, or one of another org, is 404 CLAIM_CODE_NOT_FOUND alike.
   */
  async claim(actor: Actor, code: string, projectId: string): Promise<Device> {
    requireRole(actor, 'operator');
    const project = await this.deps.projects.assertInOrg(actor, projectId);
    const found = await this.repo.byClaimCode(actor.orgId, claimCodeHash(code));
    if (!found) throw new AppError('CLAIM_CODE_NOT_FOUND', 'no unclaimed device has this claim code');
    if (found.claimed_at) {
      if (found.project_id === project) return this.get(actor, found.id);
      throw new AppError('DEVICE_ALREADY_CLAIMED', 'this device is claimed into another project: unclaim it there first');
    }
    if (!(await this.repo.claim(actor.orgId, found.id, project))) return this.claim(actor, code, projectId);
    await this.audit.record({ orgId: actor.orgId, actor, action: 'device.claim', targetKind: 'device', targetId: found.id, details: { projectId: project } });
    return this.get(actor, found.id);
  }

  /** Returns a claimed device to the unclaimed pool: no project; its code claims it again. */
  async unclaim(actor: Actor, id: string): Promise<Device> {
    requireRole(actor, 'operator');
    const device = await this.get(actor, id);
    if (!device.claim?.claimedAt) throw new AppError('DEVICE_NOT_CLAIMED', 'the device has no claim code or is not claimed');
    if (await this.repo.unclaim(actor.orgId, device.id))
      await this.audit.record({
        orgId: actor.orgId,
        actor,
        action: 'device.unclaim',
        targetKind: 'device',
        targetId: device.id,
        details: { projectId: device.projectId },
      });
    return this.get(actor, device.id);
  }

  async get(actor: Actor, id: string): Promise<Device> {
    const row = await this.repo.get(actor.orgId, assertUuid(id, 'device id'));
    if (!row) throw notFound('DEVICE', id);
    return toDevice(row);
  }

  /** `q` finds devices by name, serial, id (or its start), a tag, metadata key or value, or property, in any case. */
  async list(actor: Actor, filter: Partial<Omit<DeviceFilter, 'propertyDeviceIds'>>) {
    const limit = Math.min(Math.max(filter.limit ?? 50, 1), 500);
    const offset = Math.max(filter.offset ?? 0, 0);
    if (filter.projectId) assertUuid(filter.projectId, 'projectId');
    const q = filter.q?.trim() || undefined;
    const propertyDeviceIds = q ? (await this.propertiesContaining(actor, q, PROPERTY_MATCHES_MAX)).map((p) => p.deviceId) : undefined;
    const page = await this.repo.list(actor.orgId, { ...filter, q, propertyDeviceIds, limit, offset });
    return { items: page.items.map(toDevice), total: page.total, limit, offset };
  }

  /** The org's devices a search text finds (as `list`'s q does), best first, each with what of it contains the text. */
  async search(actor: Actor, text: string, limit: number): Promise<DeviceMatch[]> {
    const needle = text.toLowerCase();
    const properties = await this.propertiesContaining(actor, text, limit);
    const exact = properties.filter((p) => p.value.toLowerCase() === needle).map((p) => p.deviceId);
    const rows = await this.repo.search(actor.orgId, text, [...new Set(properties.map((p) => p.deviceId))], [...new Set(exact)], limit);
    const propertyOf = new Map<string, DevicePropertyMatch>();
    for (const p of properties) if (!propertyOf.has(p.deviceId)) propertyOf.set(p.deviceId, p);
    return rows.map((r) => {
      const property = propertyOf.get(r.id);
      const snippet = {
        id: r.id,
        name: r.name,
        serial: r.serial ?? '',
        tag: r.tags.find((t) => t.toLowerCase().includes(needle)) ?? r.tags.join(', '),
        metadata: metadataMatch(r.metadata, needle) ?? '',
        property: property ? `${property.name}: ${property.value}` : '',
      }[r.matched];
      return { id: r.id, name: r.name, serial: r.serial, projectId: r.project_id, online: r.online, matched: { field: r.matched, text: snippet } };
    });
  }

  private async propertiesContaining(actor: Actor, text: string, limit: number): Promise<DevicePropertyMatch[]> {
    return this.propertyFinder ? this.propertyFinder.devicePropertiesContaining(actor, text, limit) : [];
  }

  async update(actor: Actor, id: string, patch: Omit<Partial<DeviceInput>, 'name'> & { name?: string }): Promise<Device> {
    requireRole(actor, 'operator');
    const before = await this.get(actor, id);
    if (patch.name !== undefined && !patch.name.trim()) throw new AppError('VALIDATION_FAILED', 'name cannot be empty');
    const projectId = patch.projectId ? await this.deps.projects.assertInOrg(actor, patch.projectId) : patch.projectId;
    const templateId = patch.templateId ? (await this.deps.templates.get(actor, patch.templateId)).id : patch.templateId;
    try {
      await this.repo.update(actor.orgId, id, {
        ...patch,
        name: patch.name?.trim(),
        projectId,
        templateId,
        tags: checkTags(patch.tags),
        serial: checkSerial(patch.serial),
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('SERIAL_TAKEN', `a device with serial "${patch.serial}" already exists`);
      throw err;
    }
    await this.audit.record({
      orgId: actor.orgId,
      actor,
      action: 'device.update',
      targetKind: 'device',
      targetId: before.id,
      details: { name: before.name, changed: Object.keys(patch) },
    });
    return this.get(actor, id);
  }

  /** Retirement ends the device's lifespan (fleet health); it keeps its data and credentials. Audited. */
  async retire(actor: Actor, id: string, reason: string): Promise<Device> {
    requireRole(actor, 'operator');
    const deviceId = assertUuid(id, 'device id');
    const why = reason.trim();
    if (!why) throw new AppError('VALIDATION_FAILED', 'a retirement needs a reason');
    if (!(await this.repo.setRetired(actor.orgId, deviceId, why))) throw notFound('DEVICE', id);
    await this.audit.record({ orgId: actor.orgId, actor, action: 'device.retire', targetKind: 'device', targetId: deviceId, details: { reason: why } });
    return this.get(actor, deviceId);
  }

  async unretire(actor: Actor, id: string): Promise<Device> {
    requireRole(actor, 'operator');
    const deviceId = assertUuid(id, 'device id');
    if (!(await this.repo.setRetired(actor.orgId, deviceId, null))) throw notFound('DEVICE', id);
    await this.audit.record({ orgId: actor.orgId, actor, action: 'device.unretire', targetKind: 'device', targetId: deviceId });
    return this.get(actor, deviceId);
  }

  async delete(actor: Actor, id: string): Promise<void> {
    requireRole(actor, 'admin');
    const device = await this.get(actor, id);
    const deviceId = device.id;
    if (!(await this.repo.delete(actor.orgId, deviceId))) throw notFound('DEVICE', id);
    await this.audit.record({ orgId: actor.orgId, actor, action: 'device.delete', targetKind: 'device', targetId: deviceId, details: { name: device.name } });
    this.jwtCache.clear();
    this.deps.bus.emit('device.deleted', { deviceId });
    await this.mirror?.remove(deviceId);
  }

  /** Issues a new token and revokes the old one; connected sessions using it are dropped. */
  async rotateCredentials(actor: Actor, id: string): Promise<DeviceCredentials> {
    requireRole(actor, 'admin');
    const device = await this.get(actor, id);
    const token = randomToken(DEVICE_TOKEN_PREFIX, 24);
    await this.issue({ id: device.id, orgId: device.orgId }, token, async (tx) => {
      await this.repo.rotateCredential(device.id, hashToken(token), tx);
      return device.id;
    });
    this.jwtCache.clear();
    this.deps.bus.emit('device.credentials_revoked', { deviceId: device.id });
    await this.audit.record({
      orgId: actor.orgId,
      actor,
      action: 'device.credentials_rotate',
      targetKind: 'device',
      targetId: device.id,
      details: { name: device.name },
    });
    return { deviceId: device.id, token };
  }

  async revokeCredentials(actor: Actor, id: string): Promise<void> {
    requireRole(actor, 'admin');
    const device = await this.get(actor, id);
    await this.repo.revokeCredentials(actor.orgId, device.id);
    await this.audit.record({
      orgId: actor.orgId,
      actor,
      action: 'device.credentials_revoke',
      targetKind: 'device',
      targetId: device.id,
      details: { name: device.name },
    });
    this.jwtCache.clear();
    this.deps.bus.emit('device.credentials_revoked', { deviceId: device.id });
    await this.mirror?.remove(device.id);
  }

  async status(actor: Actor, id: string): Promise<DeviceStatus> {
    return (await this.get(actor, id)).status;
  }

  /** A device JWT (seed 000), for a user who may manage the device. */
  async issueJwtForUser(actor: Actor, deviceId: string): Promise<DeviceJwt> {
    requireRole(actor, 'operator');
    const device = await this.get(actor, deviceId);
    return this.issueJwt({ deviceId: device.id, orgId: device.orgId, projectId: device.projectId });
  }

  async issueJwt(identity: DeviceIdentity): Promise<DeviceJwt> {
    const ttl = this.deps.deviceJwtTtlS;
    const token = await this.deps.signer.sign({ org: identity.orgId }, identity.deviceId, DEVICE_AUDIENCE, ttl);
    return { token, deviceId: identity.deviceId, expiresAt: new Date(Date.now() + ttl * 1000).toISOString() };
  }

  /** `reason` (why it is not valid) is for the server's own use: device-verify does not tell it. */
  async verifyJwt(token: string): Promise<DeviceJwtVerification & { reason?: string }> {
    if (!looksLikeJwt(token)) return { valid: false, deviceId: null, expiresAt: null, reason: 'malformed' };
    const cached = this.jwtCache.get(token);
    // A cached answer stands while its signing key is still kept (a rotation with --drop-old ends it).
    if (cached && cached.exp * 1000 > Date.now() && cached.until > Date.now() && cached.keys === this.deps.signer.generation)
      return { valid: true, deviceId: cached.deviceId, expiresAt: new Date(cached.exp * 1000).toISOString() };
    const claims = await this.deps.signer.verify(token, DEVICE_AUDIENCE);
    if (claims === 'expired') return { valid: false, deviceId: null, expiresAt: null, reason: 'expired' };
    if (!claims) return { valid: false, deviceId: null, expiresAt: null, reason: 'invalid' };
    // A JWT outlives nothing: once the device is deleted or its credentials rotated or revoked, earlier JWTs stop working.
    const creds = await this.repo.credentialsValidAfter(claims.sub);
    if (!creds.exists) return { valid: false, deviceId: null, expiresAt: null, reason: 'device deleted' };
    const iat = typeof claims.iat === 'number' ? claims.iat : 0;
    // iat has whole seconds: a JWT from the same second as the revocation counts as before it.
    if (creds.after && iat <= Math.floor(creds.after.getTime() / 1000)) return { valid: false, deviceId: null, expiresAt: null, reason: 'revoked' };
    if (this.jwtCache.size > 10_000) this.jwtCache.clear();
    this.jwtCache.set(token, { deviceId: claims.sub, exp: claims.exp, keys: this.deps.signer.generation, until: Date.now() + JWT_CACHE_MS });
    return { valid: true, deviceId: claims.sub, expiresAt: new Date(claims.exp * 1000).toISOString() };
  }

  /** MQTT CONNECT: username = device id, password = access token or device JWT. */
  async authenticate(deviceId: string, secret: string): Promise<DeviceIdentity | null> {
    if (!isUuid(deviceId) || !secret) return null;
    if (looksLikeJwt(secret)) {
      const v = await this.verifyJwt(secret);
      return v.valid && v.deviceId === deviceId.toLowerCase() ? this.repo.identityById(v.deviceId) : null;
    }
    return this.repo.identityByIdAndToken(deviceId.toLowerCase(), hashToken(secret));
  }

  /** The HTTP device API's authentication: the device of a bearer token, or 401 UNAUTHORIZED. */
  async requireDevice(token: string | null): Promise<DeviceIdentity> {
    if (!token) throw new AppError('UNAUTHORIZED', 'send Authorization: Bearer <device access token>');
    const device = await this.authenticateToken(token);
    if (!device) throw new AppError('UNAUTHORIZED', 'device token is invalid or revoked');
    return device;
  }

  /** HTTP device API and ThingsBoard-style MQTT: the access token (or a device JWT) alone. */
  async authenticateToken(secret: string): Promise<DeviceIdentity | null> {
    if (!secret) return null;
    if (looksLikeJwt(secret)) {
      const v = await this.verifyJwt(secret);
      return v.valid && v.deviceId ? this.repo.identityById(v.deviceId) : null;
    }
    return this.repo.identityByToken(hashToken(secret));
  }

  /** The last known position of every device of the org (or of one project) that reported one: the fleet map. */
  async positions(actor: Actor, q: { projectId?: string; limit?: number; after?: string }): Promise<DevicePositions> {
    const projectId = q.projectId === undefined ? null : await this.deps.projects.assertInOrg(actor, q.projectId);
    const after = q.after === undefined ? null : assertUuid(q.after, 'after');
    const limit = q.limit ?? 5000;
    const rows = await this.repo.positions(actor.orgId, projectId, after, limit);
    const next = rows.length > limit ? (rows.pop(), rows.at(-1)!.id) : null;
    return {
      items: rows.map((r) => ({
        id: r.id,
        name: r.name,
        projectId: r.project_id,
        online: r.online,
        lastSeenAt: r.last_seen_at?.toISOString() ?? null,
        lat: r.location_lat,
        lon: r.location_lon,
        at: r.location_at.toISOString(),
      })),
      next,
    };
  }

  /** The devices of the org matching a selection (every criterion), at most `limit`, oldest first. */
  async select(orgId: string, selection: DeviceSelection, limit: number): Promise<SelectedDevice[]> {
    return (await this.repo.select(orgId, selection, limit)).map((r) => ({
      id: r.id,
      name: r.name,
      projectId: r.project_id,
      templateId: r.template_id,
      tags: r.tags,
      firmwareVersion: r.firmware_version,
      online: r.online,
    }));
  }

  async identity(deviceId: string): Promise<DeviceIdentity | null> {
    return isUuid(deviceId) ? this.repo.identityById(deviceId.toLowerCase()) : null;
  }

  /** ThingsBoard gateway API: whether the device may publish for others (metadata `isGateway: true`, set through the API). */
  isGateway(device: DeviceIdentity): Promise<boolean> {
    return this.repo.isGateway(device.deviceId);
  }

  /**
   * ThingsBoard gateway API: the device a gateway names, in the gateway's org
   * and project; created on first use, as ThingsBoard does, with a token nobody
   * is given (it talks through its gateway) and the type the gateway gave. One
   * device per name: the lock serializes gateways racing to create it.
   */
  async gatewayChild(gateway: DeviceIdentity, name: string, type = ''): Promise<DeviceIdentity> {
    const found = await this.repo.identityByName(gateway.orgId, gateway.projectId, name);
    if (found) return found;
    // Not through issue(): the token is given to no one, so no broker's client list needs it.
    return this.deps.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`gateway-child:${gateway.orgId}:${gateway.projectId ?? ''}:${name}`]);
      const again = await this.repo.identityByName(gateway.orgId, gateway.projectId, name, tx);
      if (again) return again;
      const metadata = { createdByGateway: gateway.deviceId };
      const row = {
        orgId: gateway.orgId,
        projectId: gateway.projectId,
        templateId: null,
        name,
        type,
        tags: [],
        metadata,
        inactivityTimeoutS: null,
        serial: null,
        claimCodeHash: null,
      };
      const id = await this.repo.insert(row, hashToken(randomToken(DEVICE_TOKEN_PREFIX, 24)), tx);
      return { deviceId: id, orgId: gateway.orgId, projectId: gateway.projectId };
    });
  }

  /** An external broker's message names its device by id (topic or username): who it is, and how long it counts as active. */
  async identityWithTimeout(deviceId: string): Promise<{ identity: DeviceIdentity; inactivityTimeoutS: number } | null> {
    return isUuid(deviceId) ? this.repo.identityWithTimeout(deviceId.toLowerCase()) : null;
  }

  /** Where these devices sit and what they are called (alarm evaluation; no actor: every org). */
  async places(ids: string[]): Promise<DevicePlace[]> {
    return (await this.repo.places(ids.filter(isUuid))).map(toPlace);
  }

  /** Devices of the org silent for `silentS` or longer (the no-data alarm sweep). */
  async silent(orgId: string, silentS: number, now = new Date()): Promise<(DevicePlace & { lastSeenAt: Date | null; createdAt: Date })[]> {
    return (await this.repo.silent(orgId, silentS, now)).map((r) => ({ ...toPlace(r), lastSeenAt: r.last_seen_at, createdAt: r.created_at }));
  }

  /** For an external broker's credential reconcile (no actor: every org). */
  async withLiveToken(deviceIds: string[]): Promise<Set<string>> {
    return new Set(await this.repo.withLiveToken(deviceIds.filter(isUuid).map((id) => id.toLowerCase())));
  }

  countWithLiveToken(): Promise<number> {
    return this.repo.countWithLiveToken();
  }

  async setPhoto(actor: Actor, id: string, key: string | null, contentType: string | null): Promise<void> {
    requireRole(actor, 'operator');
    const device = await this.get(actor, id);
    await this.repo.setPhoto(actor.orgId, device.id, key, contentType);
  }

  /** The stored photo's key and type, for serving it. */
  async photo(actor: Actor, id: string): Promise<{ key: string; contentType: string } | null> {
    const row = await this.repo.get(actor.orgId, assertUuid(id, 'device id'));
    if (!row) throw notFound('DEVICE', id);
    return row.photo_key && row.photo_content_type ? { key: row.photo_key, contentType: row.photo_content_type } : null;
  }

  markAllOffline(): Promise<void> {
    return this.repo.markAllOffline();
  }
}
