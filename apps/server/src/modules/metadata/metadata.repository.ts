import type { Queryable } from '../../platform/db/database.js';
import { likeEscaped, likeStartingWith, sqlParameters, textMatch } from '../../platform/db/text-match.js';
import type { EntityKind, Note } from './metadata.schemas.js';

export interface PropertyRow {
  entity_kind: EntityKind;
  entity_id: string;
  name: string;
  value: string;
}

export interface NoteRow {
  id: string;
  entity_kind: Note['kind'];
  stream_key: string | null;
  body: string;
  author_id: string | null;
  author_name: string;
  created_at: Date;
}

/**
 * SQL for properties and notes. An entity is a device or a project by id; the
 * service checks it is in the org (through those modules' services) before
 * any call here, and every statement is scoped by org as well.
 */
export class MetadataRepository {
  constructor(private readonly db: Queryable) {}

  async properties(orgId: string, kind: EntityKind, entityId: string): Promise<{ name: string; value: string; updated_at: Date }[]> {
    return this.db.query<{ name: string; value: string; updated_at: Date }>(
      'SELECT name, value, updated_at FROM properties WHERE org_id = $1 AND entity_kind = $2 AND entity_id = $3 ORDER BY name',
      [orgId, kind, entityId],
    );
  }

  async upsertProperty(orgId: string, kind: EntityKind, entityId: string, name: string, value: string): Promise<void> {
    await this.db.query(
      `INSERT INTO properties (org_id, entity_kind, entity_id, name, value) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (entity_kind, entity_id, name) DO UPDATE SET value = excluded.value, updated_at = now()`,
      [orgId, kind, entityId, name, value],
    );
  }

  async deleteProperty(orgId: string, kind: EntityKind, entityId: string, name: string): Promise<boolean> {
    const r = await this.db.query('DELETE FROM properties WHERE org_id = $1 AND entity_kind = $2 AND entity_id = $3 AND name = $4 RETURNING name', [
      orgId,
      kind,
      entityId,
      name,
    ]);
    return r.length > 0;
  }

  /** Null filters match everything; `valuePrefix` matches values starting with it. Name and value match case-insensitively. */
  async searchProperties(
    orgId: string,
    f: { name: string | null; value: string | null; valuePrefix: string | null; kind: EntityKind | null; limit: number },
  ): Promise<PropertyRow[]> {
    return this.db.query<PropertyRow>(
      `SELECT entity_kind, entity_id, name, value FROM properties
       WHERE org_id = $1 AND ($2::text IS NULL OR name ILIKE $2) AND ($3::text IS NULL OR value ILIKE $3)
         AND ($4::text IS NULL OR value ILIKE $4) AND ($5::text IS NULL OR entity_kind = $5)
       ORDER BY name, value LIMIT $6`,
      [
        orgId,
        f.name === null ? null : likeEscaped(f.name),
        f.value === null ? null : likeEscaped(f.value),
        f.valuePrefix === null ? null : likeStartingWith(f.valuePrefix),
        f.kind,
        f.limit,
      ],
    );
  }

  /**
   * Properties (of `kind`, or any) whose name or value contains the text, case-insensitive (migration 030's
   * trigram indexes), best first: a name or value equal to it, then starting with it, then the most similar.
   */
  searchText(orgId: string, text: string, kind: EntityKind | null, limit: number): Promise<(PropertyRow & { matched: 'name' | 'value' })[]> {
    const p = sqlParameters([orgId, kind]);
    const m = textMatch(text, p.bind);
    const fields = ['name', 'value'];
    return this.db.query<PropertyRow & { matched: 'name' | 'value' }>(
      `SELECT entity_kind, entity_id, name, value, CASE WHEN ${m.contains('name')} THEN 'name' ELSE 'value' END AS matched FROM properties
       WHERE org_id = $1 AND ($2::text IS NULL OR entity_kind = $2) AND ${m.inAny(fields)}
       ORDER BY ${m.tier(fields)}, ${m.similarity(fields)} DESC, name, value, entity_id LIMIT ${p.bind(limit)}`,
      p.values,
    );
  }

  /** Notes on the entity, newest first; a device's include those on its streams. */
  async notes(orgId: string, kind: EntityKind, entityId: string, streamKey: string | null, limit: number): Promise<NoteRow[]> {
    return this.db.query<NoteRow>(
      `SELECT id, entity_kind, stream_key, body, author_id, author_name, created_at FROM notes
       WHERE org_id = $1 AND entity_id = $2 AND (entity_kind = $3 OR ($3 = 'device' AND entity_kind = 'stream'))
         AND ($4::text IS NULL OR stream_key = $4)
       ORDER BY created_at DESC LIMIT $5`,
      [orgId, entityId, kind, streamKey, limit],
    );
  }

  async insertNote(n: {
    orgId: string;
    entityKind: Note['kind'];
    entityId: string;
    streamKey: string | null;
    body: string;
    authorId: string | null;
    authorName: string;
  }): Promise<{ id: string; created_at: Date }> {
    const [r] = await this.db.query<{ id: string; created_at: Date }>(
      `INSERT INTO notes (org_id, entity_kind, entity_id, stream_key, body, author_id, author_name) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, created_at`,
      [n.orgId, n.entityKind, n.entityId, n.streamKey, n.body, n.authorId, n.authorName],
    );
    return r!;
  }

  /** The note's author, or null when there is no such note in the org. */
  async noteAuthor(orgId: string, noteId: string): Promise<{ author_id: string | null } | null> {
    const [n] = await this.db.query<{ author_id: string | null }>('SELECT author_id FROM notes WHERE org_id = $1 AND id = $2', [orgId, noteId]);
    return n ?? null;
  }

  async deleteNote(orgId: string, noteId: string): Promise<void> {
    await this.db.query('DELETE FROM notes WHERE org_id = $1 AND id = $2', [orgId, noteId]);
  }
}
