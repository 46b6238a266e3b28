import type { Database } from '../../platform/db/database.js';
import { requireRole, type Actor } from '../accounts/actor.js';
import { AuditLog } from '../audit/audit.repository.js';
import type { DevicesService, SelectedDevice } from '../devices/devices.service.js';
import { AppError, assertUuid } from '../errors.js';
import type { ProjectsService } from '../projects/projects.service.js';
import type { TemplatesService } from '../templates/templates.service.js';
import { firmwareMatches, isVersionRange } from './fleet-selector.js';
import { FleetsRepository, type FleetRow } from './fleets.repository.js';
import type { Fleet, FleetDevices, FleetInput, FleetPatch, FleetSelector } from './fleets.schemas.js';

/** Devices a fleet resolves to at most: a larger one is refused rather than cut short. */
export const MAX_FLEET_DEVICES = 100_000;

const toFleet = (r: FleetRow): Fleet => ({
  id: r.id,
  name: r.name,
  description: r.description,
  kind: r.kind,
  selector: r.selector,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

const notFound = (id: string) => new AppError('FLEET_NOT_FOUND', `fleet ${id} not found`);
const invalid = (message: string) => new AppError('FLEET_SELECTOR_INVALID', message);

export interface FleetsServiceDeps {
  db: Database;
  devices: Pick<DevicesService, 'select'>;
  projects: Pick<ProjectsService, 'get'>;
  templates: Pick<TemplatesService, 'get'>;
}

/**
 * Fleets (seed 004, issue 14): the devices a deployment goes to. A static fleet
 * lists its members; a selector fleet is every device of the org that matches its
 * project, template, tags and firmware version range at the moment it is read.
 */
export class FleetsService {
  private readonly repo: FleetsRepository;
  private readonly audit: AuditLog;

  constructor(private readonly deps: FleetsServiceDeps) {
    this.repo = new FleetsRepository(deps.db);
    this.audit = new AuditLog(deps.db);
  }

  async list(actor: Actor): Promise<{ items: Fleet[] }> {
    return { items: (await this.repo.list(actor.orgId)).map(toFleet) };
  }

  async get(actor: Actor, id: string): Promise<Fleet> {
    return toFleet(await this.row(actor, id));
  }

  private async row(actor: Actor, id: string): Promise<FleetRow> {
    const r = await this.repo.get(actor.orgId, assertUuid(id, 'fleet id'));
    if (!r) throw notFound(id);
    return r;
  }

  async create(actor: Actor, input: FleetInput): Promise<Fleet> {
    requireRole(actor, 'operator');
    let selector: FleetSelector | null = null;
    let deviceIds: string[] = [];
    if (input.kind === 'selector') {
      if (input.deviceIds) throw invalid('a selector fleet has no listed devices; make it static to list them');
      selector = await this.checkSelector(actor, input.selector);
    } else {
      if (input.selector) throw invalid('a static fleet lists its devices; make it a selector fleet to select them');
      deviceIds = await this.checkDevices(actor, input.deviceIds ?? []);
    }
    const r = await this.repo.insert({
      orgId: actor.orgId,
      name: input.name,
      description: input.description ?? '',
      kind: input.kind,
      selector,
      createdBy: actor.userId,
      deviceIds,
    });
    if (!r) throw new AppError('NAME_TAKEN', `a fleet named ${input.name} exists`);
    await this.audit.record({
      orgId: actor.orgId,
      actor,
      action: 'fleet.create',
      targetKind: 'fleet',
      targetId: r.id,
      details: { name: r.name, kind: r.kind },
    });
    return toFleet(r);
  }

  async update(actor: Actor, id: string, patch: FleetPatch): Promise<Fleet> {
    requireRole(actor, 'operator');
    const fleet = await this.row(actor, id);
    if (patch.selector && fleet.kind !== 'selector') throw invalid('a static fleet has no selector; change its members instead');
    const selector = patch.selector ? await this.checkSelector(actor, patch.selector) : undefined;
    const r = await this.repo.update(actor.orgId, fleet.id, { name: patch.name, description: patch.description, selector });
    if (r === 'taken') throw new AppError('NAME_TAKEN', `a fleet named ${patch.name} exists`);
    if (!r) throw notFound(id);
    await this.audit.record({ orgId: actor.orgId, actor, action: 'fleet.update', targetKind: 'fleet', targetId: r.id, details: patch });
    return toFleet(r);
  }

  async delete(actor: Actor, id: string): Promise<void> {
    requireRole(actor, 'operator');
    if (!(await this.repo.delete(actor.orgId, assertUuid(id, 'fleet id')))) throw notFound(id);
    await this.audit.record({ orgId: actor.orgId, actor, action: 'fleet.delete', targetKind: 'fleet', targetId: id });
  }

  /** A static fleet's members change: devices of the org added, any removed. */
  async changeMembers(actor: Actor, id: string, change: { add?: string[]; remove?: string[] }): Promise<FleetDevices> {
    requireRole(actor, 'operator');
    const fleet = await this.row(actor, id);
    if (fleet.kind !== 'static') throw invalid('a selector fleet has no listed devices; change its selector instead');
    const add = await this.checkDevices(actor, change.add ?? []);
    const remove = (change.remove ?? []).map((d) => assertUuid(d, 'device id'));
    await this.repo.changeMembers(fleet.id, add, remove);
    return this.devices(actor, id, 100);
  }

  /** The fleet's devices now: how many, and the first `limit`. */
  async devices(actor: Actor, id: string, limit: number): Promise<FleetDevices> {
    const members = await this.resolve(actor.orgId, await this.row(actor, id));
    return { total: members.length, items: members.slice(0, limit) };
  }

  /** Which devices a selector matches now, before it is saved. */
  async preview(actor: Actor, selector: FleetSelector, limit: number): Promise<FleetDevices> {
    const checked = await this.checkSelector(actor, selector);
    const members = await this.select(actor.orgId, checked);
    return { total: members.length, items: members.slice(0, limit) };
  }

  /** Every device of a fleet now (deployments). */
  async members(actor: Actor, id: string): Promise<SelectedDevice[]> {
    return this.resolve(actor.orgId, await this.row(actor, id));
  }

  private async resolve(orgId: string, fleet: FleetRow): Promise<SelectedDevice[]> {
    if (fleet.kind === 'selector') return this.select(orgId, fleet.selector!);
    const ids = await this.repo.memberIds(fleet.id);
    return ids.length ? this.bounded(await this.deps.devices.select(orgId, { ids }, MAX_FLEET_DEVICES + 1)) : [];
  }

  private async select(orgId: string, s: FleetSelector): Promise<SelectedDevice[]> {
    const candidates = this.bounded(
      await this.deps.devices.select(orgId, { projectId: s.projectId, templateId: s.templateId, tags: s.tags }, MAX_FLEET_DEVICES + 1),
    );
    return s.firmware === undefined ? candidates : candidates.filter((d) => firmwareMatches(s.firmware!, d.firmwareVersion));
  }

  private bounded(devices: SelectedDevice[]): SelectedDevice[] {
    if (devices.length > MAX_FLEET_DEVICES) throw invalid(`the fleet would hold more than ${MAX_FLEET_DEVICES} devices; narrow it`);
    return devices;
  }

  /** A selector with at least one criterion, its project and template of the caller's org, its range a semver range. */
  private async checkSelector(actor: Actor, s: FleetSelector | undefined): Promise<FleetSelector> {
    if (!s || (s.projectId === undefined && s.templateId === undefined && !s.tags?.length && s.firmware === undefined)) {
      throw invalid('a selector needs at least one of projectId, templateId, tags, firmware');
    }
    const out: FleetSelector = {};
    if (s.projectId !== undefined) out.projectId = (await this.deps.projects.get(actor, s.projectId)).id;
    if (s.templateId !== undefined) out.templateId = (await this.deps.templates.get(actor, s.templateId)).id;
    if (s.tags?.length) out.tags = [...new Set(s.tags)];
    if (s.firmware !== undefined) {
      if (!isVersionRange(s.firmware)) throw invalid(`firmware "${s.firmware}" is not a version range; write it like "<2.0.0" or ">=1.2 <1.4"`);
      out.firmware = s.firmware;
    }
    return out;
  }

  /** Device ids that all belong to the caller's org (one that does not is DEVICE_NOT_FOUND, as any other org's id). */
  private async checkDevices(actor: Actor, ids: string[]): Promise<string[]> {
    const wanted = [...new Set(ids.map((d) => assertUuid(d, 'device id')))];
    if (!wanted.length) return [];
    const found = new Set((await this.deps.devices.select(actor.orgId, { ids: wanted }, wanted.length)).map((d) => d.id));
    const missing = wanted.find((d) => !found.has(d));
    if (missing) throw new AppError('DEVICE_NOT_FOUND', `device ${missing} not found`);
    return wanted;
  }
}
