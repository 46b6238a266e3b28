import type { Database } from '../../platform/db/database.js';
import { hashToken, randomToken, sameHash } from '../../platform/security/secrets.js';
import { requireRole, type Actor } from '../accounts/actor.js';
import { AuditLog } from '../audit/audit.repository.js';
import type { DeviceJwt } from '../devices/devices.schemas.js';
import type { DevicesService } from '../devices/devices.service.js';
import { AppError } from '../errors.js';
import type { ProjectsService } from '../projects/projects.service.js';
import { ProvisioningRepository, type ProvisioningKeyRow } from './provisioning.repository.js';
import type { DeviceLoginRequest, ProvisioningKey, ProvisioningKeyWithSecret, ProvisionRequest, ProvisionResponse } from './provisioning.schemas.js';

const toKey = (r: ProvisioningKeyRow): ProvisioningKey => ({
  projectId: r.project_id,
  key: r.key,
  enabled: r.enabled,
  allowReprovision: r.allow_reprovision,
  createdAt: r.created_at.toISOString(),
  rotatedAt: r.rotated_at.toISOString(),
});

export interface ProvisioningServiceDeps {
  db: Database;
  projects: Pick<ProjectsService, 'assertInOrg'>;
  devices: Pick<DevicesService, 'bySerial' | 'createProvisioned' | 'reissueToken' | 'issueJwt'>;
}

/**
 * Self-provisioning (ThingsBoard's provisioning API) and seed 003's IMEI login,
 * both vouched for by a project's provisioning key and secret. The secret is
 * random (192 bits) and kept as a SHA-256 hash, as device tokens are.
 */
export class ProvisioningService {
  private readonly repo: ProvisioningRepository;
  private readonly audit: AuditLog;

  constructor(private readonly deps: ProvisioningServiceDeps) {
    this.repo = new ProvisioningRepository(deps.db);
    this.audit = new AuditLog(deps.db);
  }

  /** The project's key, or null when it has none. */
  async get(actor: Actor, projectId: string): Promise<ProvisioningKey | null> {
    const project = await this.deps.projects.assertInOrg(actor, projectId);
    const row = await this.repo.get(actor.orgId, project);
    return row ? toKey(row) : null;
  }

  /** Creates the project's key and secret, or replaces both (rotation: devices holding the old ones are refused from now on). */
  async put(actor: Actor, projectId: string, input: { allowReprovision?: boolean }): Promise<ProvisioningKeyWithSecret> {
    requireRole(actor, 'admin');
    const project = await this.deps.projects.assertInOrg(actor, projectId);
    const existing = await this.repo.get(actor.orgId, project);
    const secret = randomToken('ps_', 24);
    const row = await this.repo.put(
      actor.orgId,
      project,
      randomToken('pk_', 12),
      hashToken(secret),
      input.allowReprovision ?? existing?.allow_reprovision ?? false,
    );
    await this.audit.record({
      orgId: actor.orgId,
      actor,
      action: existing ? 'provisioning.key_rotate' : 'provisioning.key_create',
      targetKind: 'project',
      targetId: project,
      details: { key: row.key, allowReprovision: row.allow_reprovision },
    });
    return { ...toKey(row), secret };
  }

  /** Enables or disables the key, or changes the re-provisioning policy. */
  async update(actor: Actor, projectId: string, patch: { enabled?: boolean; allowReprovision?: boolean }): Promise<ProvisioningKey> {
    requireRole(actor, 'admin');
    const project = await this.deps.projects.assertInOrg(actor, projectId);
    const row = await this.repo.update(actor.orgId, project, patch);
    if (!row) throw new AppError('PROVISIONING_KEY_NOT_FOUND', 'the project has no provisioning key: create one first');
    await this.audit.record({ orgId: actor.orgId, actor, action: 'provisioning.key_update', targetKind: 'project', targetId: project, details: patch });
    return toKey(row);
  }

  /** The enabled key matching key and secret; anything else is one refusal, so a caller learns nothing about which part was wrong. */
  private async check(key: string, secret: string): Promise<ProvisioningKeyRow> {
    const row = await this.repo.byKey(key);
    if (!row || !row.enabled || !sameHash(row.secret_hash, hashToken(secret)))
      throw new AppError('PROVISIONING_FAILED', 'unknown or disabled provisioning key, or wrong secret');
    return row;
  }

  /**
   * A device registers itself: a new device in the key's project named by its
   * serial, with a new access token. A serial the org already has is refused
   * (409 DEVICE_ALREADY_PROVISIONED) unless the project allows re-provisioning
   * and the device is in it: then a new token, the old one revoked. Without a
   * deviceName (ThingsBoard's SDKs leave it out by default) it is always a new
   * device, with a generated name and no serial, as on ThingsBoard.
   */
  async provision(req: ProvisionRequest): Promise<ProvisionResponse> {
    const key = await this.check(req.provisionDeviceKey, req.provisionDeviceSecret);
    const serial = req.deviceName?.trim() ?? null;
    const existing = serial ? await this.deps.devices.bySerial(key.org_id, serial) : null;
    if (serial && existing) {
      if (!key.allow_reprovision || existing.projectId !== key.project_id) throw alreadyProvisioned(serial);
      const token = await this.deps.devices.reissueToken(existing);
      await this.audit.record({
        orgId: key.org_id,
        actor: { kind: 'device', deviceId: existing.deviceId },
        action: 'device.reprovision',
        targetKind: 'device',
        targetId: existing.deviceId,
        details: { serial, key: key.key },
      });
      return { status: 'SUCCESS', credentialsType: 'ACCESS_TOKEN', credentialsValue: token, deviceId: existing.deviceId };
    }
    const created = await this.deps.devices.createProvisioned(key.org_id, key.project_id, serial).catch((err: unknown) => {
      // Another request for the same serial won the race.
      throw err instanceof AppError && err.code === 'SERIAL_TAKEN' && serial ? alreadyProvisioned(serial) : err;
    });
    await this.audit.record({
      orgId: key.org_id,
      actor: { kind: 'device', deviceId: created.identity.deviceId },
      action: 'device.provision',
      targetKind: 'device',
      targetId: created.identity.deviceId,
      details: { serial, key: key.key, projectId: key.project_id },
    });
    return { status: 'SUCCESS', credentialsType: 'ACCESS_TOKEN', credentialsValue: created.token, deviceId: created.identity.deviceId };
  }

  /** Seed 003: a device registered with this serial (IMEI) in the key's project gets a device JWT. */
  async login(req: DeviceLoginRequest): Promise<DeviceJwt> {
    const key = await this.check(req.provisionDeviceKey, req.provisionDeviceSecret);
    const device = await this.deps.devices.bySerial(key.org_id, req.serial.trim());
    if (!device || device.projectId !== key.project_id) throw new AppError('DEVICE_NOT_FOUND', 'no device of this project has that serial');
    return this.deps.devices.issueJwt(device);
  }
}

const alreadyProvisioned = (serial: string) =>
  new AppError('DEVICE_ALREADY_PROVISIONED', `a device with serial "${serial}" is already provisioned (re-provisioning is off, or it is in another project)`);
