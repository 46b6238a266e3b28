import type { Queryable } from '../../platform/db/database.js';

export interface ProvisioningKeyRow {
  project_id: string;
  org_id: string;
  key: string;
  secret_hash: string;
  enabled: boolean;
  allow_reprovision: boolean;
  created_at: Date;
  rotated_at: Date;
}

/** SQL for projects' provisioning keys. Owner reads are scoped by org; a device's request finds its key by the key alone. */
export class ProvisioningRepository {
  constructor(private readonly db: Queryable) {}

  async get(orgId: string, projectId: string): Promise<ProvisioningKeyRow | null> {
    const [r] = await this.db.query<ProvisioningKeyRow>('SELECT * FROM provisioning_keys WHERE org_id = $1 AND project_id = $2', [orgId, projectId]);
    return r ?? null;
  }

  async byKey(key: string): Promise<ProvisioningKeyRow | null> {
    const [r] = await this.db.query<ProvisioningKeyRow>('SELECT * FROM provisioning_keys WHERE key = $1', [key]);
    return r ?? null;
  }

  /** Creates the project's key, or replaces key and secret (a rotation); enabled again either way. */
  async put(orgId: string, projectId: string, key: string, secretHash: string, allowReprovision: boolean): Promise<ProvisioningKeyRow> {
    const [r] = await this.db.query<ProvisioningKeyRow>(
      `INSERT INTO provisioning_keys (project_id, org_id, key, secret_hash, allow_reprovision) VALUES ($2, $1, $3, $4, $5)
       ON CONFLICT (project_id) DO UPDATE SET key = $3, secret_hash = $4, allow_reprovision = $5, enabled = true, rotated_at = now()
       WHERE provisioning_keys.org_id = $1
       RETURNING *`,
      [orgId, projectId, key, secretHash, allowReprovision],
    );
    return r!;
  }

  async update(orgId: string, projectId: string, p: { enabled?: boolean; allowReprovision?: boolean }): Promise<ProvisioningKeyRow | null> {
    const [r] = await this.db.query<ProvisioningKeyRow>(
      `UPDATE provisioning_keys SET enabled = coalesce($3, enabled), allow_reprovision = coalesce($4, allow_reprovision)
       WHERE org_id = $1 AND project_id = $2 RETURNING *`,
      [orgId, projectId, p.enabled ?? null, p.allowReprovision ?? null],
    );
    return r ?? null;
  }
}
