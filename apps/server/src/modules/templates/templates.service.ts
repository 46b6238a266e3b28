import { Compile } from 'typebox/compile';
import type { Database } from '../../platform/db/database.js';
import { AppError, assertUuid } from '../errors.js';
import { requireRole, type Actor } from '../accounts/actor.js';
import { TemplatesRepository, type TemplateRow } from './templates.repository.js';

import type { CommandSpec, DeviceTemplate, TelemetryKeySpec } from './templates.schemas.js';
import { AuditLog } from '../audit/audit.repository.js';

export type { CommandSpec, DeviceTemplate, TelemetryKeySpec };

const toTemplate = (r: TemplateRow): DeviceTemplate => ({
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

  private readonly repo: TemplatesRepository;
  private readonly audit: AuditLog;
  constructor(db: Database) {
    this.repo = new TemplatesRepository(db);
    this.audit = new AuditLog(db);
  }

  async list(actor: Actor): Promise<DeviceTemplate[]> {
    return (await this.repo.list(actor.orgId)).map(toTemplate);
  }

  async get(actor: Actor, id: string): Promise<DeviceTemplate> {
    const r = await this.repo.get(actor.orgId, assertUuid(id, 'template id'));
    if (!r) throw new AppError('TEMPLATE_NOT_FOUND', `template ${id} not found`);
    return toTemplate(r);
  }

  async create(actor: Actor, input: { name: string; description?: string; telemetry?: TelemetryKeySpec[]; commands?: CommandSpec[] }): Promise<DeviceTemplate> {
    requireRole(actor, 'admin');
    checkSpecs(input.commands ?? []);
    try {
      const r = await this.repo.insert({
        orgId: actor.orgId,
        name: input.name.trim(),
        description: input.description ?? '',
        telemetry: input.telemetry ?? [],
        commands: input.commands ?? [],
      });
      await this.audit.record({ orgId: actor.orgId, actor, action: 'template.create', targetKind: 'template', targetId: r.id, details: { name: r.name } });
      return toTemplate(r);
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
    await this.repo.update(actor.orgId, id, {
      name: patch.name?.trim() ?? null,
      description: patch.description ?? null,
      telemetry: patch.telemetry ?? null,
      commands: patch.commands ?? null,
    });
    this.validators.clear();
    const after = await this.get(actor, id);
    await this.audit.record({
      orgId: actor.orgId,
      actor,
      action: 'template.update',
      targetKind: 'template',
      targetId: after.id,
      details: { name: after.name, changed: Object.keys(patch) },
    });
    return after;
  }

  async delete(actor: Actor, id: string): Promise<void> {
    requireRole(actor, 'admin');
    const template = await this.get(actor, id);
    if (!(await this.repo.delete(actor.orgId, template.id))) throw new AppError('TEMPLATE_NOT_FOUND', `template ${id} not found`);
    await this.audit.record({
      orgId: actor.orgId,
      actor,
      action: 'template.delete',
      targetKind: 'template',
      targetId: template.id,
      details: { name: template.name },
    });
  }

  /**
   * A device created from a template accepts only the template's commands, with
   * params valid against their schema. Devices without a template (templateId
   * null) accept any command.
   */
  async checkCommand(templateId: string | null, name: string, params: unknown): Promise<void> {
    const r = templateId ? await this.repo.commandsOf(templateId) : null;
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
