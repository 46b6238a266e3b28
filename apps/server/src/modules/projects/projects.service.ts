import type { Database } from '../../platform/db/database.js';
import { AppError, assertUuid, notFound } from '../errors.js';
import { requireRole, type Actor } from '../accounts/actor.js';
import { AuditLog } from '../audit/audit.repository.js';
import { ProjectsRepository, type ProjectRow } from './projects.repository.js';

import type { Project, ProjectMatch } from './projects.schemas.js';

export type { Project, ProjectMatch };

const toProject = (r: ProjectRow): Project => ({
  id: r.id,
  name: r.name,
  description: r.description,
  inactivityTimeoutS: r.inactivity_timeout_s,
  deviceCount: r.device_count,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

const isUniqueViolation = (err: unknown) => (err as { code?: string }).code === '23505';

/** Projects: groups of devices that measure similar things. */
export class ProjectsService {
  private readonly repo: ProjectsRepository;
  private readonly audit: AuditLog;
  constructor(db: Database) {
    this.repo = new ProjectsRepository(db);
    this.audit = new AuditLog(db);
  }

  async list(actor: Actor, limit = 100, offset = 0, q?: string) {
    const page = await this.repo.list(actor.orgId, limit, offset, q?.trim() || null);
    return { items: page.items.map(toProject), total: page.total, limit, offset };
  }

  /** The org's projects whose name or description contains the text (case-insensitive), best first. */
  async search(actor: Actor, text: string, limit: number): Promise<ProjectMatch[]> {
    const rows = await this.repo.search(actor.orgId, text, limit);
    return rows.map((r) => ({ id: r.id, name: r.name, matched: { field: r.matched, text: r.matched === 'name' ? r.name : r.description } }));
  }

  /** The names of the org's projects among `ids`, by id; ids of no project of the org are left out. */
  async names(actor: Actor, ids: string[]): Promise<Map<string, string>> {
    if (!ids.length) return new Map();
    return new Map((await this.repo.names(actor.orgId, ids)).map((r) => [r.id, r.name]));
  }

  async get(actor: Actor, id: string): Promise<Project> {
    const row = await this.repo.get(actor.orgId, assertUuid(id, 'project id'));
    if (!row) throw notFound('PROJECT', id);
    return toProject(row);
  }

  /** Throws PROJECT_NOT_FOUND unless the project exists in the actor's org. */
  async assertInOrg(actor: Actor, id: string): Promise<string> {
    return (await this.get(actor, id)).id;
  }

  async create(actor: Actor, input: { name: string; description?: string; inactivityTimeoutS?: number | null }): Promise<Project> {
    requireRole(actor, 'admin');
    const name = input.name.trim();
    if (!name) throw new AppError('VALIDATION_FAILED', 'name is required');
    try {
      const id = await this.repo.insert(actor.orgId, name, input.description ?? '', input.inactivityTimeoutS ?? null);
      await this.audit.record({ orgId: actor.orgId, actor, action: 'project.create', targetKind: 'project', targetId: id, details: { name } });
      return this.get(actor, id);
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('NAME_TAKEN', `a project named "${name}" already exists`);
      throw err;
    }
  }

  async update(actor: Actor, id: string, patch: { name?: string; description?: string; inactivityTimeoutS?: number | null }): Promise<Project> {
    requireRole(actor, 'admin');
    const before = await this.get(actor, id);
    try {
      await this.repo.update(actor.orgId, id, { ...patch, name: patch.name?.trim() });
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('NAME_TAKEN', `a project named "${patch.name}" already exists`);
      throw err;
    }
    await this.audit.record({
      orgId: actor.orgId,
      actor,
      action: 'project.update',
      targetKind: 'project',
      targetId: before.id,
      details: { name: before.name, changed: Object.keys(patch) },
    });
    return this.get(actor, id);
  }

  async delete(actor: Actor, id: string): Promise<void> {
    requireRole(actor, 'admin');
    const project = await this.get(actor, id);
    if (!(await this.repo.delete(actor.orgId, project.id))) throw notFound('PROJECT', id);
    await this.audit.record({
      orgId: actor.orgId,
      actor,
      action: 'project.delete',
      targetKind: 'project',
      targetId: project.id,
      details: { name: project.name },
    });
  }
}
