import type { Database, Queryable } from '../../platform/db/database.js';

/** SQL for stream aliases and their taps (migration 023). */

export interface AliasRow {
  id: string;
  org_id: string;
  project_id: string | null;
  name: string;
  unit: string | null;
  description: string;
  created_at: Date;
  updated_at: Date;
}

export interface TapRow {
  alias_id: string;
  starts_at: Date;
  device_id: string | null;
  key: string;
}

export interface NewTap {
  startsAt: Date;
  deviceId: string;
  key: string;
}

const isUniqueViolation = (err: unknown) => (err as { code?: string }).code === '23505';

export class AliasesRepository {
  constructor(private readonly db: Database) {}

  list(orgId: string, projectId: string | null): Promise<AliasRow[]> {
    return this.db.query<AliasRow>('SELECT * FROM stream_aliases WHERE org_id = $1 AND ($2::uuid IS NULL OR project_id = $2) ORDER BY lower(name), id', [
      orgId,
      projectId,
    ]);
  }

  async get(orgId: string, id: string): Promise<AliasRow | null> {
    const [r] = await this.db.query<AliasRow>('SELECT * FROM stream_aliases WHERE org_id = $1 AND id = $2', [orgId, id]);
    return r ?? null;
  }

  /** The taps of these aliases, oldest first per alias. */
  taps(aliasIds: string[]): Promise<TapRow[]> {
    if (!aliasIds.length) return Promise.resolve([]);
    return this.db.query<TapRow>('SELECT alias_id, starts_at, device_id, key FROM alias_taps WHERE alias_id = ANY($1::uuid[]) ORDER BY alias_id, starts_at', [
      aliasIds,
    ]);
  }

  /** Null when the org has an alias of that name. The taps are written in the same transaction. */
  async insert(a: {
    orgId: string;
    projectId: string | null;
    name: string;
    unit: string | null;
    description: string;
    createdBy: string | null;
    taps: NewTap[];
  }): Promise<AliasRow | null> {
    try {
      return await this.db.transaction(async (tx) => {
        const [r] = await tx.query<AliasRow>(
          `INSERT INTO stream_aliases (org_id, project_id, name, unit, description, created_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
          [a.orgId, a.projectId, a.name, a.unit, a.description, a.createdBy],
        );
        await insertTaps(tx, r!.id, a.taps);
        return r!;
      });
    } catch (err) {
      if (isUniqueViolation(err)) return null;
      throw err;
    }
  }

  /** 'taken' when another alias of the org has the new name; taps, when given, replace the old ones. */
  async update(
    orgId: string,
    id: string,
    p: { name?: string; projectId?: string | null; unit?: string | null; description?: string; taps?: NewTap[] },
  ): Promise<AliasRow | null | 'taken'> {
    try {
      return await this.db.transaction(async (tx) => {
        const [r] = await tx.query<AliasRow>(
          `UPDATE stream_aliases SET
             name = coalesce($3, name),
             project_id = CASE WHEN $4 THEN $5::uuid ELSE project_id END,
             unit = CASE WHEN $6 THEN $7 ELSE unit END,
             description = coalesce($8, description),
             updated_at = now()
           WHERE org_id = $1 AND id = $2 RETURNING *`,
          [orgId, id, p.name ?? null, p.projectId !== undefined, p.projectId ?? null, p.unit !== undefined, p.unit ?? null, p.description ?? null],
        );
        if (!r) return null;
        if (p.taps) {
          await tx.query('DELETE FROM alias_taps WHERE alias_id = $1', [id]);
          await insertTaps(tx, id, p.taps);
        }
        return r;
      });
    } catch (err) {
      if (isUniqueViolation(err)) return 'taken';
      throw err;
    }
  }

  async delete(orgId: string, id: string): Promise<AliasRow | null> {
    const [r] = await this.db.query<AliasRow>('DELETE FROM stream_aliases WHERE org_id = $1 AND id = $2 RETURNING *', [orgId, id]);
    return r ?? null;
  }
}

async function insertTaps(tx: Queryable, aliasId: string, taps: NewTap[]): Promise<void> {
  await tx.query('INSERT INTO alias_taps (alias_id, starts_at, device_id, key) SELECT $1, * FROM unnest($2::timestamptz[], $3::uuid[], $4::text[])', [
    aliasId,
    taps.map((t) => t.startsAt.toISOString()),
    taps.map((t) => t.deviceId),
    taps.map((t) => t.key),
  ]);
}
