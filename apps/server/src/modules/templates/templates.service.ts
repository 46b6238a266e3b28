import { Compile } from 'typebox/compile';
import type { Database } from '../../platform/db/database.js';
import { AppError, assertUuid } from '../errors.js';
import { requireRole, type Actor } from '../accounts/actor.js';

import type { CommandSpec, DeviceTemplate, TelemetryKeySpec } from './templates.schemas.js';

export type { CommandSpec, DeviceTemplate, TelemetryKeySpec };

interface Row {
  id: string;
  name: string;
  description: string;
  telemetry: TelemetryKeySpec[];
  commands: CommandSpec[];
  created_at: Date;
  updated_at: Date;
}
const toTemplate = (r: Row): DeviceTemplate => ({
  id: r.id,
  name: r.name,
  description: r.description,
  telemetry: r.telemetry,
  commands: r.commands,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

function checkSpecs(commands: CommandSpec[]): void {
  for (const c of commands) {
    if (!c.params) continue;
    try {
      Compile(c.params as never);
    } catch (err) {
      throw new AppError('VALIDATION_FAILED', `command ${c.name}: params is not a valid JSON Schema (${(err as Error).message})`);
    }
  }
}

/** Device templates: a device type with its expected telemetry keys and accepted commands. */
export class TemplatesService {
  private readonly validators = new Map<string, ReturnType<typeof Compile>>();

  constructor(private readonly db: Database) {}

  async list(actor: Actor): Promise<DeviceTemplate[]> {
    return (await this.db.query<Row>('SELECT * FROM device_templates WHERE org_id = $1 ORDER BY lower(name)', [actor.orgId])).map(toTemplate);
  }

  async get(actor: Actor, id: string): Promise<DeviceTemplate> {
    const [r] = await this.db.query<Row>('SELECT * FROM device_templates WHERE org_id = $1 AND id = $2', [actor.orgId, assertUuid(id, 'template id')]);
    if (!r) throw new AppError('TEMPLATE_NOT_FOUND', `template ${id} not found`);
    return toTemplate(r);
  }

  async create(actor: Actor, input: { name: string; description?: string; telemetry?: TelemetryKeySpec[]; commands?: CommandSpec[] }): Promise<DeviceTemplate> {
    requireRole(actor, 'admin');
    checkSpecs(input.commands ?? []);
    try {
      const [r] = await this.db.query<Row>(
        'INSERT INTO device_templates (org_id, name, description, telemetry, commands) VALUES ($1, $2, $3, $4, $5) RETURNING *',
        [actor.orgId, input.name.trim(), input.description ?? '', JSON.stringify(input.telemetry ?? []), JSON.stringify(input.commands ?? [])],
      );
      return toTemplate(r!);
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw new AppError('NAME_TAKEN', `a template named "${input.name}" already exists`);
      throw err;
    }
  }

  async update(
    actor: Actor,
    id: string,
    patch: { name?: string; description?: string; telemetry?: TelemetryKeySpec[]; commands?: CommandSpec[] },
  ): Promise<DeviceTemplate> {
    requireRole(actor, 'admin');
    await this.get(actor, id);
    if (patch.commands) checkSpecs(patch.commands);
    await this.db.query(
      `UPDATE device_templates SET name = coalesce($3, name), description = coalesce($4, description),
         telemetry = coalesce($5::jsonb, telemetry), commands = coalesce($6::jsonb, commands), updated_at = now()
       WHERE org_id = $1 AND id = $2`,
      [
        actor.orgId,
        id,
        patch.name?.trim() ?? null,
        patch.description ?? null,
        patch.telemetry ? JSON.stringify(patch.telemetry) : null,
        patch.commands ? JSON.stringify(patch.commands) : null,
      ],
    );
    this.validators.clear();
    return this.get(actor, id);
  }

  async delete(actor: Actor, id: string): Promise<void> {
    requireRole(actor, 'admin');
    const r = await this.db.query('DELETE FROM device_templates WHERE org_id = $1 AND id = $2 RETURNING id', [actor.orgId, assertUuid(id, 'template id')]);
    if (!r.length) throw new AppError('TEMPLATE_NOT_FOUND', `template ${id} not found`);
  }

  /**
   * A device created from a template accepts only the template's commands, with
   * params valid against their schema. Devices without a template accept any command.
   */
  async checkCommand(deviceId: string, name: string, params: unknown): Promise<void> {
    const [r] = await this.db.query<{ id: string; name: string; commands: CommandSpec[]; updated_at: Date }>(
      'SELECT t.id, t.name, t.commands, t.updated_at FROM devices d JOIN device_templates t ON t.id = d.template_id WHERE d.id = $1',
      [deviceId],
    );
    if (!r) return;
    const spec = r.commands.find((c) => c.name === name);
    if (!spec) {
      throw new AppError(
        'COMMAND_NOT_IN_TEMPLATE',
        `template "${r.name}" has no command "${name}"; it accepts: ${r.commands.map((c) => c.name).join(', ') || 'none'}`,
      );
    }
    if (!spec.params) return;
    const key = `${r.id}:${r.updated_at.getTime()}:${name}`;
    let check = this.validators.get(key);
    if (!check) this.validators.set(key, (check = Compile(spec.params as never)));
    if (!check.Check(params ?? {})) {
      const first = [...check.Errors(params ?? {})][0];
      throw new AppError('VALIDATION_FAILED', `params of "${name}": ${first ? `${first.instancePath || 'params'} ${first.message}` : 'invalid'}`);
    }
  }
}
