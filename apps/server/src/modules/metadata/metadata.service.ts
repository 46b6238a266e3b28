import type { Database } from '../../platform/db/database.js';
import { AppError, assertUuid } from '../errors.js';
import { hasRole, requireRole, type Actor } from '../accounts/actor.js';
import type { DevicesService } from '../devices/devices.service.js';
import type { ProjectsService } from '../projects/projects.service.js';
import type { EntityKind, Note, Property, PropertyMatch, PropertyWritten } from './metadata.schemas.js';

export type { EntityKind };

/** Properties (searchable name/value pairs) and notes on devices, projects and streams (seed 004). */
export class MetadataService {
  constructor(
    private readonly db: Database,
    private readonly devices: DevicesService,
    private readonly projects: ProjectsService,
  ) {}

  private async entity(actor: Actor, kind: EntityKind, id: string): Promise<string> {
    return kind === 'device' ? (await this.devices.get(actor, id)).id : this.projects.assertInOrg(actor, id);
  }

  async properties(actor: Actor, kind: EntityKind, id: string): Promise<{ items: Property[] }> {
    const entityId = await this.entity(actor, kind, id);
    const rows = await this.db.query<{ name: string; value: string; updated_at: Date }>(
      'SELECT name, value, updated_at FROM properties WHERE org_id = $1 AND entity_kind = $2 AND entity_id = $3 ORDER BY name',
      [actor.orgId, kind, entityId],
    );
    return { items: rows.map((r) => ({ name: r.name, value: r.value, updatedAt: r.updated_at.toISOString() })) };
  }

  async setProperty(actor: Actor, kind: EntityKind, id: string, name: string, value: string): Promise<PropertyWritten> {
    requireRole(actor, 'operator');
    if (!/^.{1,128}$/.test(name)) throw new AppError('VALIDATION_FAILED', 'a property name has 1 to 128 characters');
    const entityId = await this.entity(actor, kind, id);
    await this.db.query(
      `INSERT INTO properties (org_id, entity_kind, entity_id, name, value) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (entity_kind, entity_id, name) DO UPDATE SET value = excluded.value, updated_at = now()`,
      [actor.orgId, kind, entityId, name, value],
    );
    return { name, value };
  }

  async deleteProperty(actor: Actor, kind: EntityKind, id: string, name: string) {
    requireRole(actor, 'operator');
    const entityId = await this.entity(actor, kind, id);
    const r = await this.db.query('DELETE FROM properties WHERE org_id = $1 AND entity_kind = $2 AND entity_id = $3 AND name = $4 RETURNING name', [
      actor.orgId,
      kind,
      entityId,
      name,
    ]);
    if (!r.length) throw new AppError('PROPERTY_NOT_FOUND', `property ${name} not found`);
  }

  /** Which devices or projects have a property (optionally with a value, or a value prefix ending in *). */
  async searchProperties(actor: Actor, q: { name?: string; value?: string; kind?: EntityKind; limit?: number }): Promise<{ items: PropertyMatch[] }> {
    const value = q.value?.endsWith('*') ? { prefix: q.value.slice(0, -1) } : q.value !== undefined ? { exact: q.value } : null;
    const rows = await this.db.query<{ entity_kind: EntityKind; entity_id: string; name: string; value: string }>(
      `SELECT entity_kind, entity_id, name, value FROM properties
       WHERE org_id = $1 AND ($2::text IS NULL OR name = $2) AND ($3::text IS NULL OR value = $3)
         AND ($4::text IS NULL OR starts_with(value, $4)) AND ($5::text IS NULL OR entity_kind = $5)
       ORDER BY name, value LIMIT $6`,
      [
        actor.orgId,
        q.name ?? null,
        value && 'exact' in value ? value.exact : null,
        value && 'prefix' in value ? value.prefix : null,
        q.kind ?? null,
        Math.min(Math.max(q.limit ?? 100, 1), 1000),
      ],
    );
    return { items: rows.map((r) => ({ entityKind: r.entity_kind, entityId: r.entity_id, name: r.name, value: r.value })) };
  }

  async notes(actor: Actor, kind: EntityKind, id: string, q: { streamKey?: string; limit?: number }): Promise<{ items: Note[] }> {
    const entityId = await this.entity(actor, kind, id);
    const rows = await this.db.query<{
      id: string;
      entity_kind: Note['kind'];
      stream_key: string | null;
      body: string;
      author_id: string | null;
      author_name: string;
      created_at: Date;
    }>(
      `SELECT id, entity_kind, stream_key, body, author_id, author_name, created_at FROM notes
       WHERE org_id = $1 AND entity_id = $2 AND (entity_kind = $3 OR ($3 = 'device' AND entity_kind = 'stream'))
         AND ($4::text IS NULL OR stream_key = $4)
       ORDER BY created_at DESC LIMIT $5`,
      [actor.orgId, entityId, kind, q.streamKey ?? null, Math.min(Math.max(q.limit ?? 100, 1), 1000)],
    );
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
    const author = actor.userId
      ? ((await this.db.query<{ name: string; email: string }>('SELECT name, email FROM users WHERE id = $1', [actor.userId]))[0] ?? null)
      : null;
    const [r] = await this.db.query<{ id: string; created_at: Date }>(
      `INSERT INTO notes (org_id, entity_kind, entity_id, stream_key, body, author_id, author_name) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, created_at`,
      [actor.orgId, entityKind, entityId, input.streamKey ?? null, body, actor.userId, author ? author.name || author.email : 'API key'],
    );
    return {
      id: r!.id,
      kind: entityKind,
      streamKey: input.streamKey ?? null,
      body,
      author: { id: actor.userId, name: author ? author.name || author.email : 'API key' },
      createdAt: r!.created_at.toISOString(),
    };
  }

  /** Its author, or an admin, may delete a note. */
  async deleteNote(actor: Actor, noteId: string) {
    const [n] = await this.db.query<{ author_id: string | null }>('SELECT author_id FROM notes WHERE org_id = $1 AND id = $2', [
      actor.orgId,
      assertUuid(noteId, 'note id'),
    ]);
    if (!n) throw new AppError('NOTE_NOT_FOUND', `note ${noteId} not found`);
    if (n.author_id !== actor.userId && !hasRole(actor, 'admin')) throw new AppError('FORBIDDEN', 'only its author or an admin may delete a note');
    await this.db.query('DELETE FROM notes WHERE org_id = $1 AND id = $2', [actor.orgId, noteId]);
  }
}
