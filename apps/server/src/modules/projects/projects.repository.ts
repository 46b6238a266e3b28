import type { Queryable } from '../../platform/db/database.js';
import { likeContaining, sqlParameters, textMatch } from '../../platform/db/text-match.js';

export interface ProjectRow {
  id: string;
  org_id: string;
  name: string;
  description: string;
  inactivity_timeout_s: number | null;
  device_count: number;
  created_at: Date;
  updated_at: Date;
}

export interface ProjectSearchRow {
  id: string;
  name: string;
  description: string;
  matched: 'name' | 'description';
}

const SELECT = `SELECT p.*, (SELECT count(*)::int FROM devices d WHERE d.project_id = p.id) AS device_count FROM projects p`;

export class ProjectsRepository {
  constructor(private readonly db: Queryable) {}

  /** `q`: name or description containing it, case-insensitive (LIKE's wildcards in it match themselves). */
  async list(orgId: string, limit: number, offset: number, q: string | null = null): Promise<{ items: ProjectRow[]; total: number }> {
    const match = `($2::text IS NULL OR p.name ILIKE $2 OR p.description ILIKE $2)`;
    const like = q === null ? null : likeContaining(q);
    const items = await this.db.query<ProjectRow>(`${SELECT} WHERE p.org_id = $1 AND ${match} ORDER BY lower(p.name) LIMIT $3 OFFSET $4`, [
      orgId,
      like,
      limit,
      offset,
    ]);
    const [c] = await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM projects p WHERE p.org_id = $1 AND ${match}`, [orgId, like]);
    return { items, total: c?.n ?? 0 };
  }

  /**
   * The org's projects whose name or description contains `q` (case-insensitive; migration 030's trigram
   * indexes), best first: a name equal to it, then starting with it, then by similarity of the name.
   */
  search(orgId: string, q: string, limit: number): Promise<ProjectSearchRow[]> {
    const p = sqlParameters([orgId]);
    const m = textMatch(q, p.bind);
    return this.db.query<ProjectSearchRow>(
      `SELECT id, name, description, CASE WHEN ${m.contains('name')} THEN 'name' ELSE 'description' END AS matched
       FROM projects WHERE org_id = $1 AND ${m.inAny(['name', 'description'])}
       ORDER BY ${m.tier(['name'])}, ${m.similarity(['name'])} DESC, lower(name), id LIMIT ${p.bind(limit)}`,
      p.values,
    );
  }

  /** Names of the org's projects among `ids` (others are left out). */
  names(orgId: string, ids: string[]): Promise<{ id: string; name: string }[]> {
    return this.db.query<{ id: string; name: string }>('SELECT id, name FROM projects WHERE org_id = $1 AND id = ANY($2::uuid[])', [orgId, ids]);
  }

  async get(orgId: string, id: string): Promise<ProjectRow | null> {
    const [r] = await this.db.query<ProjectRow>(`${SELECT} WHERE p.org_id = $1 AND p.id = $2`, [orgId, id]);
    return r ?? null;
  }

  async insert(orgId: string, name: string, description: string, timeout: number | null): Promise<string> {
    const [r] = await this.db.query<{ id: string }>(
      'INSERT INTO projects (org_id, name, description, inactivity_timeout_s) VALUES ($1, $2, $3, $4) RETURNING id',
      [orgId, name, description, timeout],
    );
    return r!.id;
  }

  async update(orgId: string, id: string, p: { name?: string; description?: string; inactivityTimeoutS?: number | null }): Promise<void> {
    await this.db.query(
      `UPDATE projects SET name = coalesce($3, name), description = coalesce($4, description),
         inactivity_timeout_s = CASE WHEN $5::boolean THEN $6::int ELSE inactivity_timeout_s END, updated_at = now()
       WHERE org_id = $1 AND id = $2`,
      [orgId, id, p.name ?? null, p.description ?? null, p.inactivityTimeoutS !== undefined, p.inactivityTimeoutS ?? null],
    );
  }

  async delete(orgId: string, id: string): Promise<boolean> {
    return (await this.db.query('DELETE FROM projects WHERE org_id = $1 AND id = $2 RETURNING id', [orgId, id])).length > 0;
  }
}
