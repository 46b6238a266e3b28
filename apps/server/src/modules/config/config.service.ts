import type { Database } from '../../platform/db/database.js';
import { AppError } from '../errors.js';
import { requireRole, type Actor } from '../accounts/actor.js';
import { AuditLog } from '../audit/audit.repository.js';
import type { DeviceIdentity } from '../devices/devices.repository.js';
import type { DevicesService } from '../devices/devices.service.js';
import type { DomainBus } from '../events/domain-events.js';
import type { ProjectsService } from '../projects/projects.service.js';

import type { ConfigValues, DeviceConfig, ResolvedConfig, ResolvedValue } from './config.schemas.js';

export type { ResolvedValue };
export type ConfigScope = 'org' | 'project' | 'device' | 'user';

const KEY = /^[A-Za-z0-9_.-]{1,128}$/;
const RANK = { device: 0, project: 1, org: 2 } as const;

export interface ConfigServiceDeps {
  db: Database;
  devices: DevicesService;
  projects: ProjectsService;
  bus: DomainBus;
}

/** How configuration reaches devices connected to this node (none on a node without the MQTT role). */
export interface ConfigDownlink {
  /** True when the device is connected to this node. */
  holds(deviceId: string): boolean;
  /** Publishes the device's resolved configuration, retained, on devices/{id}/config. */
  publish(deviceId: string, config: Record<string, unknown>): Promise<void>;
  /** Forgets a retained copy kept here for a device connected elsewhere now (it would be stale on its next connection here). */
  forget(deviceId: string): Promise<void>;
}

/** Devices per config.changed event: an org-wide change is a few events, not one per device or one huge one. */
const CHANGED_CHUNK = 200;

/**
 * Desired configuration (seed 004's get_attribute_by_priority): JSON values on
 * an org, project, device or user; a device resolves device → project → org.
 */
export class ConfigService {
  private downlink: ConfigDownlink | null = null;
  private readonly audit: AuditLog;

  constructor(private readonly deps: ConfigServiceDeps) {
    this.audit = new AuditLog(deps.db);
    // On every node: the devices connected here get their new configuration; copies kept for others are dropped.
    deps.bus.on('config.changed', async ({ devices }) => {
      const downlink = this.downlink;
      if (!downlink) return;
      for (const d of devices) {
        if (downlink.holds(d.deviceId)) await this.publishTo(d);
        else await downlink.forget(d.deviceId);
      }
    });
  }

  attachDownlink(downlink: ConfigDownlink): void {
    this.downlink = downlink;
  }

  /** Checks the caller may see (and, for writes, change) the scope; returns its id. */
  private async scopeId(actor: Actor, scope: ConfigScope, id: string | null, write: boolean): Promise<string> {
    if (scope === 'user') {
      if (!actor.userId) throw new AppError('FORBIDDEN', 'API keys have no user settings');
      return actor.userId;
    }
    if (write) requireRole(actor, 'operator');
    if (scope === 'org') return actor.orgId;
    if (scope === 'project') return this.deps.projects.assertInOrg(actor, id ?? '');
    return (await this.deps.devices.get(actor, id ?? '')).id;
  }

  async list(actor: Actor, scope: ConfigScope, id: string | null): Promise<ConfigValues> {
    const scopeId = await this.scopeId(actor, scope, id, false);
    const rows = await this.deps.db.query<{ key: string; value: unknown }>(
      'SELECT key, value FROM config_attributes WHERE org_id = $1 AND scope = $2 AND scope_id = $3 ORDER BY key',
      [actor.orgId, scope, scopeId],
    );
    return { values: Object.fromEntries(rows.map((r) => [r.key, r.value])) };
  }

  async set(actor: Actor, scope: ConfigScope, id: string | null, key: string, value: unknown): Promise<void> {
    if (!KEY.test(key)) throw new AppError('VALIDATION_FAILED', 'a config key has 1 to 128 letters, digits, _ . or -');
    if (value === undefined) throw new AppError('VALIDATION_FAILED', 'value is required');
    const scopeId = await this.scopeId(actor, scope, id, true);
    await this.deps.db.query(
      `INSERT INTO config_attributes (org_id, scope, scope_id, key, value, updated_by) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (org_id, scope, scope_id, key) DO UPDATE SET value = excluded.value, updated_by = excluded.updated_by, updated_at = now()`,
      [actor.orgId, scope, scopeId, key, JSON.stringify(value), actor.userId],
    );
    // The key only: a configuration value may well be a device's Wi-Fi password.
    await this.audit.record({ orgId: actor.orgId, actor, action: 'config.set', targetKind: scope, targetId: scopeId, details: { key } });
    await this.publishAffected(actor.orgId, scope, scopeId);
  }

  async delete(actor: Actor, scope: ConfigScope, id: string | null, key: string): Promise<void> {
    const scopeId = await this.scopeId(actor, scope, id, true);
    const r = await this.deps.db.query('DELETE FROM config_attributes WHERE org_id = $1 AND scope = $2 AND scope_id = $3 AND key = $4 RETURNING key', [
      actor.orgId,
      scope,
      scopeId,
      key,
    ]);
    if (!r.length) throw new AppError('NOT_FOUND', `config key ${key} is not set here`);
    await this.audit.record({ orgId: actor.orgId, actor, action: 'config.delete', targetKind: scope, targetId: scopeId, details: { key } });
    await this.publishAffected(actor.orgId, scope, scopeId);
  }

  async resolveForActor(actor: Actor, deviceId: string): Promise<ResolvedConfig> {
    const device = await this.deps.devices.get(actor, deviceId);
    return { deviceId: device.id, values: await this.resolve({ deviceId: device.id, orgId: device.orgId, projectId: device.projectId }) };
  }

  /** Device → project → org: the most specific scope wins, and each value says where it came from. */
  async resolve(device: DeviceIdentity): Promise<Record<string, ResolvedValue>> {
    const rows = await this.deps.db.query<{ scope: 'device' | 'project' | 'org'; key: string; value: unknown; updated_at: Date }>(
      `SELECT c.scope, c.key, c.value, c.updated_at FROM config_attributes c JOIN devices d ON d.id = $1
       WHERE c.org_id = d.org_id AND ((c.scope = 'device' AND c.scope_id = d.id)
          OR (c.scope = 'project' AND c.scope_id = d.project_id) OR (c.scope = 'org' AND c.scope_id = d.org_id))`,
      [device.deviceId],
    );
    const out: Record<string, ResolvedValue> = {};
    for (const r of rows) {
      const cur = out[r.key];
      if (!cur || RANK[r.scope] < RANK[cur.source]) out[r.key] = { value: r.value, source: r.scope, updatedAt: r.updated_at.toISOString() };
    }
    return out;
  }

  /** The configuration as a device receives it: plain key → value. */
  async deviceConfig(device: DeviceIdentity): Promise<DeviceConfig> {
    const resolved = await this.resolve(device);
    return Object.fromEntries(Object.entries(resolved).map(([k, v]) => [k, v.value]));
  }

  /** Publishes the device's configuration from this node (it has just subscribed here, or it is connected here). */
  async publishTo(device: DeviceIdentity): Promise<void> {
    if (!this.downlink) return;
    await this.downlink.publish(device.deviceId, await this.deviceConfig(device));
  }

  private async publishAffected(orgId: string, scope: ConfigScope, scopeId: string): Promise<void> {
    if (scope === 'user') return;
    const devices = await this.deps.db.query<{ id: string; project_id: string | null }>(
      scope === 'device'
        ? 'SELECT id, project_id FROM devices WHERE org_id = $1 AND id = $2'
        : scope === 'project'
          ? 'SELECT id, project_id FROM devices WHERE org_id = $1 AND project_id = $2'
          : 'SELECT id, project_id FROM devices WHERE org_id = $1 AND org_id = $2',
      [orgId, scopeId],
    );
    const changed = devices.map((d) => ({ deviceId: d.id, orgId, projectId: d.project_id }));
    for (let i = 0; i < changed.length; i += CHANGED_CHUNK) this.deps.bus.emit('config.changed', { devices: changed.slice(i, i + CHANGED_CHUNK) });
  }
}
