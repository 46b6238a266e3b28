/** SQL for device templates (reads no other module's tables). */
import type { Queryable } from '../../platform/db/database.js';
import type { CommandSpec, TelemetryKeySpec } from './templates.schemas.js';

export interface TemplateRow {
  id: string;
  name: string;
  description: string;
  telemetry: TelemetryKeySpec[];
  commands: CommandSpec[];
  created_at: Date;
  updated_at: Date;
}

export class TemplatesRepository {
  constructor(private readonly db: Queryable) {}

  async list(orgId: string): Promise<TemplateRow[]> {
    return this.db.query<TemplateRow>('SELECT * FROM device_templates WHERE org_id = $1 ORDER BY lower(name)', [orgId]);
  }

  async get(orgId: string, id: string): Promise<TemplateRow | null> {
    const [r] = await this.db.query<TemplateRow>('SELECT * FROM device_templates WHERE org_id = $1 AND id = $2', [orgId, id]);
    return r ?? null;
  }

  /** Throws the database's unique violation (23505) when the org has a template of that name. */
  async insert(t: { orgId: string; name: string; description: string; telemetry: TelemetryKeySpec[]; commands: CommandSpec[] }): Promise<TemplateRow> {
    const [r] = await this.db.query<TemplateRow>(
      'INSERT INTO device_templates (org_id, name, description, telemetry, commands) VALUES ($1, $2, $3, $4, $5) RETURNING *',
      [t.orgId, t.name, t.description, JSON.stringify(t.telemetry), JSON.stringify(t.commands)],
    );
    return r!;
  }

  /** Null leaves a field as it is. */
  async update(
    orgId: string,
    id: string,
    p: { name: string | null; description: string | null; telemetry: TelemetryKeySpec[] | null; commands: CommandSpec[] | null },
  ): Promise<void> {
    await this.db.query(
      `UPDATE device_templates SET name = coalesce($3, name), description = coalesce($4, description),
         telemetry = coalesce($5::jsonb, telemetry), commands = coalesce($6::jsonb, commands), updated_at = now()
       WHERE org_id = $1 AND id = $2`,
      [orgId, id, p.name, p.description, p.telemetry ? JSON.stringify(p.telemetry) : null, p.commands ? JSON.stringify(p.commands) : null],
    );
  }

  async delete(orgId: string, id: string): Promise<boolean> {
    const r = await this.db.query('DELETE FROM device_templates WHERE org_id = $1 AND id = $2 RETURNING id', [orgId, id]);
    return r.length > 0;
  }

  /** The template of a device, or null when the device has none. */
  async commandsOf(templateId: string): Promise<{ id: string; name: string; commands: CommandSpec[]; updated_at: Date } | null> {
    const [r] = await this.db.query<{ id: string; name: string; commands: CommandSpec[]; updated_at: Date }>(
      'SELECT id, name, commands, updated_at FROM device_templates WHERE id = $1',
      [templateId],
    );
    return r ?? null;
  }
}
