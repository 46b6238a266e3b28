import type { Database } from '../../platform/db/database.js';
import { AppError, assertUuid } from '../errors.js';
import { hasRole, requireRole, type Actor } from '../accounts/actor.js';
import { AccountsRepository } from '../accounts/accounts.repository.js';
import type { DevicePropertyFinder, DevicePropertyMatch } from '../devices/device-search.js';
import type { DevicesService } from '../devices/devices.service.js';
import type { ProjectsService } from '../projects/projects.service.js';
import { MetadataRepository } from './metadata.repository.js';
import type { EntityKind, Note, Property, PropertyFound, PropertyMatch, PropertyWritten } from './metadata.schemas.js';

export type { EntityKind };

/** Properties (searchable name/value pairs) and notes on devices, projects and streams (seed 004). */
export class MetadataService implements DevicePropertyFinder {
  private readonly repo: MetadataRepository;
  /** A note's author name comes from the accounts module's users, through its repository. */
  private readonly users: Pick<AccountsRepository, 'nameAndEmail'>;
  constructor(
    db: Database,
    private readonly devices: DevicesService,
    private readonly projects: ProjectsService,
  ) {
    this.repo = new MetadataRepository(db);
    this.users = new AccountsRepository(db);
  }

  private async entity(actor: Actor, kind: EntityKind, id: string): Promise<string> {
    return kind === 'device' ? (await this.devices.get(actor, id)).id : this.projects.assertInOrg(actor, id);
  }

  async properties(actor: Actor, kind: EntityKind, id: string): Promise<{ items: Property[] }> {
    const entityId = await this.entity(actor, kind, id);
    const rows = await this.repo.properties(actor.orgId, kind, entityId);
    return { items: rows.map((r) => ({ name: r.name, value: r.value, updatedAt: r.updated_at.toISOString() })) };
  }

  async setProperty(actor: Actor, kind: EntityKind, id: string, name: string, value: string): Promise<PropertyWritten> {
    requireRole(actor, 'operator');
    if (!/^.{1,128}$/.test(name)) throw new AppError('VALIDATION_FAILED', 'a property name has 1 to 128 characters');
    const entityId = await this.entity(actor, kind, id);
    await this.repo.upsertProperty(actor.orgId, kind, entityId, name, value);
    return { name, value };
  }

  async deleteProperty(actor: Actor, kind: EntityKind, id: string, name: string) {
    requireRole(actor, 'operator');
    const entityId = await this.entity(actor, kind, id);
    if (!(await this.repo.deleteProperty(actor.orgId, kind, entityId, name))) throw new AppError('PROPERTY_NOT_FOUND', `property ${name} not found`);
  }

  /** Which devices or projects have a property (optionally with a value, or a value prefix ending in *); case-insensitive. */
  async searchProperties(actor: Actor, q: { name?: string; value?: string; kind?: EntityKind; limit?: number }): Promise<{ items: PropertyMatch[] }> {
    const value: { prefix: string } | { exact: string } | null = q.value?.endsWith('*')
      ? { prefix: q.value.slice(0, -1) }
      : q.value !== undefined
        ? { exact: q.value }
        : null;
    const rows = await this.repo.searchProperties(actor.orgId, {
      name: q.name ?? null,
      value: value && 'exact' in value ? value.exact : null,
      valuePrefix: value && 'prefix' in value ? value.prefix : null,
      kind: q.kind ?? null,
      limit: Math.min(Math.max(q.limit ?? 100, 1), 1000),
    });
    return { items: rows.map((r) => ({ entityKind: r.entity_kind, entityId: r.entity_id, name: r.name, value: r.value })) };
  }

  /** Properties of devices and projects whose name or value contains the text (case-insensitive), best first. */
  async searchText(actor: Actor, text: string, limit: number): Promise<PropertyFound[]> {
    const rows = await this.repo.searchText(actor.orgId, text, null, limit);
    return rows.map((r) => ({
      entityKind: r.entity_kind,
      entityId: r.entity_id,
      name: r.name,
      value: r.value,
      matched: { field: r.matched, text: r.matched === 'name' ? r.name : r.value },
    }));
  }

  async devicePropertiesContaining(actor: Actor, text: string, limit: number): Promise<DevicePropertyMatch[]> {
    const rows = await this.repo.searchText(actor.orgId, text, 'device', limit);
    return rows.map((r) => ({ deviceId: r.entity_id, name: r.name, value: r.value }));
  }

  async notes(actor: Actor, kind: EntityKind, id: string, q: { streamKey?: string; limit?: number }): Promise<{ items: Note[] }> {
    const entityId = await this.entity(actor, kind, id);
    const rows = await this.repo.notes(actor.orgId, kind, entityId, q.streamKey ?? null, Math.min(Math.max(q.limit ?? 100, 1), 1000));
    return {
      items: rows.map((r) => ({
        id: r.id,
        kind: r.entity_kind,
        streamKey: r.stream_key,
        body: r.body,
        author: { id: r.author_id, name: r.author_name },
        createdAt: r.created_at.toISOString(),
      })),
    };
  }

  /** A note on a device, a project, or one stream (telemetry key) of a device. */
  async addNote(actor: Actor, kind: EntityKind, id: string, input: { body: string; streamKey?: string }): Promise<Note> {
    requireRole(actor, 'operator');
    const body = input.body.trim();
    if (!body) throw new AppError('VALIDATION_FAILED', 'body is required');
    const entityId = await this.entity(actor, kind, id);
    const entityKind = input.streamKey ? 'stream' : kind;
    if (input.streamKey && kind !== 'device') throw new AppError('VALIDATION_FAILED', 'streamKey applies to device notes');
    const author = actor.userId ? await this.users.nameAndEmail(actor.userId) : null;
    const authorName = author ? author.name || author.email : 'API key';
    const r = await this.repo.insertNote({
      orgId: actor.orgId,
      entityKind,
      entityId,
      streamKey: input.streamKey ?? null,
      body,
      authorId: actor.userId,
      authorName,
    });
    return {
      id: r.id,
      kind: entityKind,
      streamKey: input.streamKey ?? null,
      body,
      author: { id: actor.userId, name: authorName },
      createdAt: r.created_at.toISOString(),
    };
  }

  /** Its author, or an admin, may delete a note. */
  async deleteNote(actor: Actor, noteId: string) {
    const n = await this.repo.noteAuthor(actor.orgId, assertUuid(noteId, 'note id'));
    if (!n) throw new AppError('NOTE_NOT_FOUND', `note ${noteId} not found`);
    if (n.author_id !== actor.userId && !hasRole(actor, 'admin')) throw new AppError('FORBIDDEN', 'only its author or an admin may delete a note');
    await this.repo.deleteNote(actor.orgId, noteId);
  }
}
