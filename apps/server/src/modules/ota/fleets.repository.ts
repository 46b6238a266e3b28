import type { Database } from '../../platform/db/database.js';
import type { FleetSelector } from './fleets.schemas.js';

/** SQL for fleets and their static members (migration 019). */

export interface FleetRow {
  id: string;
  org_id: string;
  name: string;
  description: string;
  kind: 'static' | 'selector';
  selector: FleetSelector | null;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

export class FleetsRepository {
  constructor(private readonly db: Database) {}

  list(orgId: string): Promise<FleetRow[]> {
    return this.db.query<FleetRow>('SELECT * FROM fleets WHERE org_id = $1 ORDER BY lower(name)', [orgId]);
  }

  async get(orgId: string, id: string): Promise<FleetRow | null> {
    const [r] = await this.db.query<FleetRow>('SELECT * FROM fleets WHERE org_id = $1 AND id = $2', [orgId, id]);
    return r ?? null;
  }

  /** Null when the org has a fleet of that name. Static members are added in the same transaction. */
  async insert(f: {
    orgId: string;
    name: string;
    description: string;
    kind: string;
    selector: FleetSelector | null;
    createdBy: string | null;
    deviceIds: string[];
  }) {
    return this.db.transaction(async (tx) => {
      const [r] = await tx.query<FleetRow>(
        `INSERT INTO fleets (org_id, name, description, kind, selector, created_by) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (org_id, lower(name)) DO NOTHING RETURNING *`,
        [f.orgId, f.name, f.description, f.kind, f.selector === null ? null : JSON.stringify(f.selector), f.createdBy],
      );
      if (r && f.deviceIds.length) {
        await tx.query('INSERT INTO fleet_devices (fleet_id, device_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING', [r.id, f.deviceIds]);
      }
      return r ?? null;
    });
  }

  /** 'taken' when another fleet of the org has the new name. */
  async update(orgId: string, id: string, p: { name?: string; description?: string; selector?: FleetSelector }): Promise<FleetRow | null | 'taken'> {
    try {
      const [r] = await this.db.query<FleetRow>(
        `UPDATE fleets SET name = coalesce($3, name), description = coalesce($4, description), selector = coalesce($5, selector), updated_at = now()
         WHERE org_id = $1 AND id = $2 RETURNING *`,
        [orgId, id, p.name ?? null, p.description ?? null, p.selector === undefined ? null : JSON.stringify(p.selector)],
      );
      return r ?? null;
    } catch (err) {
      if ((err as { code?: string }).code === '23505') return 'taken';
      throw err;
    }
  }

  async delete(orgId: string, id: string): Promise<boolean> {
    return (await this.db.query('DELETE FROM fleets WHERE org_id = $1 AND id = $2 RETURNING id', [orgId, id])).length > 0;
  }

  async memberIds(fleetId: string): Promise<string[]> {
    return (await this.db.query<{ device_id: string }>('SELECT device_id FROM fleet_devices WHERE fleet_id = $1', [fleetId])).map((r) => r.device_id);
  }

  async changeMembers(fleetId: string, add: string[], remove: string[]): Promise<void> {
    await this.db.transaction(async (tx) => {
      if (remove.length) await tx.query('DELETE FROM fleet_devices WHERE fleet_id = $1 AND device_id = ANY($2::uuid[])', [fleetId, remove]);
      if (add.length) await tx.query('INSERT INTO fleet_devices (fleet_id, device_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING', [fleetId, add]);
      await tx.query('UPDATE fleets SET updated_at = now() WHERE id = $1', [fleetId]);
    });
  }
}
