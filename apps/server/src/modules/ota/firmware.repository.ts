import type { Database } from '../../platform/db/database.js';

/** SQL for firmware artifacts (migration 019). */

export interface FirmwareRow {
  id: string;
  org_id: string;
  template_id: string;
  version: string;
  release_notes: string;
  declared_sha256: string | null;
  size: string | null;
  sha256: string | null;
  storage_key: string | null;
  uploaded_at: Date | null;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

export class FirmwareRepository {
  constructor(private readonly db: Database) {}

  list(orgId: string, templateId: string | null): Promise<FirmwareRow[]> {
    return this.db.query<FirmwareRow>(
      `SELECT * FROM firmware WHERE org_id = $1 AND ($2::uuid IS NULL OR template_id = $2) ORDER BY created_at DESC, id LIMIT 1000`,
      [orgId, templateId],
    );
  }

  async get(orgId: string, id: string): Promise<FirmwareRow | null> {
    const [r] = await this.db.query<FirmwareRow>('SELECT * FROM firmware WHERE org_id = $1 AND id = $2', [orgId, id]);
    return r ?? null;
  }

  /** Any org's firmware, for a signed download link (the link names it). */
  byIds(ids: string[]): Promise<FirmwareRow[]> {
    return this.db.query<FirmwareRow>('SELECT * FROM firmware WHERE id = ANY($1::uuid[])', [ids]);
  }

  async byId(id: string): Promise<FirmwareRow | null> {
    const [r] = await this.db.query<FirmwareRow>('SELECT * FROM firmware WHERE id = $1', [id]);
    return r ?? null;
  }

  /** Null when the template already has this version. */
  async insert(f: { orgId: string; templateId: string; version: string; releaseNotes: string; declaredSha256: string | null; createdBy: string | null }) {
    const [r] = await this.db.query<FirmwareRow>(
      `INSERT INTO firmware (org_id, template_id, version, release_notes, declared_sha256, created_by) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (org_id, template_id, version) DO NOTHING RETURNING *`,
      [f.orgId, f.templateId, f.version, f.releaseNotes, f.declaredSha256, f.createdBy],
    );
    return r ?? null;
  }

  /** Records the stored artifact; null if another upload got there first. */
  async setArtifact(orgId: string, id: string, a: { size: number; sha256: string; storageKey: string }): Promise<FirmwareRow | null> {
    const [r] = await this.db.query<FirmwareRow>(
      `UPDATE firmware SET size = $3, sha256 = $4, storage_key = $5, uploaded_at = now(), updated_at = now()
       WHERE org_id = $1 AND id = $2 AND uploaded_at IS NULL RETURNING *`,
      [orgId, id, a.size, a.sha256, a.storageKey],
    );
    return r ?? null;
  }

  /** Null when there is no such firmware; 'in use' when a deployment refers to it (deployments keep theirs). */
  async delete(orgId: string, id: string): Promise<FirmwareRow | 'in use' | null> {
    const [used] = await this.db.query('SELECT 1 FROM deployments WHERE firmware_id = $1 LIMIT 1', [id]);
    if (used) return 'in use';
    const [r] = await this.db.query<FirmwareRow>('DELETE FROM firmware WHERE org_id = $1 AND id = $2 RETURNING *', [orgId, id]);
    return r ?? null;
  }
}
