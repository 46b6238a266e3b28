import type { Database } from '../../platform/db/database.js';
import { requireRole, type Actor } from '../accounts/actor.js';
import type { DevicesService } from '../devices/devices.service.js';
import { AppError, assertUuid, notFound } from '../errors.js';
import type { DomainBus } from '../events/domain-events.js';
import type { ProjectsService } from '../projects/projects.service.js';
import type { TelemetryService } from '../telemetry/telemetry.service.js';
import type { TemplatesService } from '../templates/templates.service.js';
import { AuditLog } from '../audit/audit.repository.js';
import { AlarmsRepository, type StoredRule } from './alarms.repository.js';
import type { AlarmRule as AlarmRuleDto, AlarmRuleInput, RulePreview, RulePreviewInput } from './alarms.schemas.js';
import { checkQuietHours, checkRule, replayRule, type AlarmRule } from './rule-logic.js';

const toDto = (r: StoredRule): AlarmRuleDto => ({
  id: r.id,
  scope: r.scope,
  scopeId: r.scopeId,
  name: r.name,
  enabled: r.enabled,
  kind: r.kind,
  key: r.key,
  condition: r.condition as AlarmRuleDto['condition'],
  clear: r.clear as AlarmRuleDto['clear'],
  durationS: r.durationS,
  severity: r.severity,
  message: r.message,
  notify: r.notify,
  escalate: r.escalate,
  quietHours: r.quietHours,
  stormLimit: r.stormLimit,
  createdAt: r.createdAt.toISOString(),
  updatedAt: r.updatedAt.toISOString(),
});

/** A cached org's rules are read again after this long at most, even if a change's event was lost. */
const CACHE_MS = 60_000;

export interface RulesServiceDeps {
  db: Database;
  bus: DomainBus;
  projects: ProjectsService;
  templates: TemplatesService;
  devices: DevicesService;
  telemetry: TelemetryService;
  /** Notification targets of the org: throws TARGET_NOT_FOUND for one that is not. */
  targets: { assertInOrg(actor: Actor, ids: string[]): Promise<string[]> };
}

/**
 * Alarm rules: checked on the way in (400 RULE_INVALID, RULE_IMPOSSIBLE,
 * RULE_UNKNOWN_KEY), and cached per org for the evaluator, which reads no
 * rule from the database per message. A change tells every node
 * (`alarm_rules.changed`), and a cached org is read again after a minute anyway.
 */
export class RulesService {
  private readonly repo: AlarmsRepository;
  private readonly audit: AuditLog;
  private readonly cache = new Map<string, { rules: AlarmRule[]; until: number }>();

  constructor(private readonly deps: RulesServiceDeps) {
    this.repo = new AlarmsRepository(deps.db);
    this.audit = new AuditLog(deps.db);
    deps.bus.on('alarm_rules.changed', ({ orgId }) => void this.cache.delete(orgId));
    deps.bus.onReconnect(() => this.cache.clear());
  }

  async list(actor: Actor): Promise<{ items: AlarmRuleDto[] }> {
    return { items: (await this.repo.rulesOfOrg(actor.orgId)).map(toDto) };
  }

  async get(actor: Actor, id: string): Promise<AlarmRuleDto> {
    const r = await this.repo.rule(actor.orgId, assertUuid(id, 'rule id'));
    if (!r) throw notFound('RULE', id);
    return toDto(r);
  }

  async create(actor: Actor, input: AlarmRuleInput): Promise<AlarmRuleDto> {
    requireRole(actor, 'admin');
    const scopeId = await this.checkScope(actor, input.scope, input.scopeId ?? null);
    const checked = checkRule({ kind: input.kind, key: input.key, condition: input.condition, clear: input.clear, durationS: input.durationS });
    await this.checkKey(actor, checked, input.scope, scopeId);
    const rule = await this.repo
      .insertRule({
        orgId: actor.orgId,
        name: input.name.trim(),
        scope: input.scope,
        scopeId,
        enabled: input.enabled ?? true,
        severity: input.severity,
        message: input.message,
        ...(await this.policy(actor, input)),
        ...checked,
      })
      .catch(nameTaken(input.name));
    this.changed(actor.orgId);
    await this.audit.record({
      orgId: actor.orgId,
      actor,
      action: 'rule.create',
      targetKind: 'rule',
      targetId: rule.id,
      details: { name: rule.name, key: rule.key },
    });
    return toDto(rule);
  }

  /** Who a rule tells, and when: its targets, escalation, quiet hours and storm limit, checked. */
  private async policy(actor: Actor, input: Omit<AlarmRuleInput, 'scope' | 'scopeId'>) {
    const escalate = input.escalate ? { afterS: input.escalate.afterS, notify: await this.deps.targets.assertInOrg(actor, input.escalate.notify) } : null;
    return {
      notify: await this.deps.targets.assertInOrg(actor, input.notify ?? []),
      escalate,
      quietHours: checkQuietHours(input.quietHours),
      stormLimit: input.stormLimit ?? null,
    };
  }

  /** Replaces a rule's definition; its scope stays (make another rule for another scope). */
  async update(actor: Actor, id: string, input: Omit<AlarmRuleInput, 'scope' | 'scopeId'>): Promise<AlarmRuleDto> {
    requireRole(actor, 'admin');
    const held = await this.repo.rule(actor.orgId, assertUuid(id, 'rule id'));
    if (!held) throw notFound('RULE', id);
    const checked = checkRule({ kind: input.kind, key: input.key, condition: input.condition, clear: input.clear, durationS: input.durationS });
    await this.checkKey(actor, checked, held.scope, held.scopeId);
    const rule = await this.repo
      .updateRule({
        ...held,
        name: input.name.trim(),
        enabled: input.enabled ?? true,
        severity: input.severity,
        message: input.message,
        ...(await this.policy(actor, input)),
        ...checked,
      })
      .catch(nameTaken(input.name));
    if (!rule) throw notFound('RULE', id);
    this.changed(actor.orgId);
    await this.audit.record({
      orgId: actor.orgId,
      actor,
      action: 'rule.update',
      targetKind: 'rule',
      targetId: rule.id,
      details: { name: rule.name, enabled: rule.enabled },
    });
    return toDto(rule);
  }

  async delete(actor: Actor, id: string): Promise<void> {
    requireRole(actor, 'admin');
    const held = await this.repo.rule(actor.orgId, assertUuid(id, 'rule id'));
    if (!held || !(await this.repo.deleteRule(actor.orgId, held.id))) throw notFound('RULE', id);
    this.changed(actor.orgId);
    await this.audit.record({ orgId: actor.orgId, actor, action: 'rule.delete', targetKind: 'rule', targetId: held.id, details: { name: held.name } });
  }

  /**
   * "Would have fired 3 times": the rule replayed over a device's history of
   * its key (threshold and rate rules; the newest 100,000 values).
   */
  async preview(actor: Actor, input: RulePreviewInput): Promise<RulePreview> {
    const checked = checkRule({
      kind: input.rule.kind,
      key: input.rule.key,
      condition: input.rule.condition,
      clear: input.rule.clear,
      durationS: input.rule.durationS,
    });
    if (checked.kind !== 'threshold' && checked.kind !== 'rate')
      throw new AppError('RULE_INVALID', 'a preview replays telemetry: threshold and rate rules only');
    const to = input.to ?? new Date().toISOString();
    const from = input.from ?? new Date(Date.parse(to) - 86_400_000).toISOString();
    const series = await this.deps.telemetry.history(actor, input.deviceId, { keys: checked.key!, from, to, limit: 100_000 });
    const points = (series.series[checked.key!] ?? []).filter((p) => typeof p.value === 'number').map((p) => ({ ts: Date.parse(p.ts), v: p.value as number }));
    const rule = {
      ...checked,
      id: 'preview',
      orgId: actor.orgId,
      name: 'preview',
      scope: 'device',
      scopeId: null,
      enabled: true,
      severity: 'info',
      message: '',
      notify: [],
      escalate: null,
      quietHours: null,
      stormLimit: null,
    } as AlarmRule;
    const occurrences = replayRule(rule, points);
    return {
      deviceId: series.deviceId ?? input.deviceId,
      from: series.from,
      to: series.to,
      points: points.length,
      truncated: Object.keys(series.truncated ?? {}).length > 0,
      fired: occurrences.length,
      occurrences: occurrences.map((o) => ({
        raisedAt: new Date(o.raisedAt).toISOString(),
        clearedAt: o.clearedAt === null ? null : new Date(o.clearedAt).toISOString(),
        count: o.count,
        peak: o.peak,
      })),
    };
  }

  /** The org's rules, from the cache (the evaluator's, per message batch). */
  async rulesOf(orgId: string): Promise<AlarmRule[]> {
    const hit = this.cache.get(orgId);
    if (hit && hit.until > Date.now()) return hit.rules;
    const rules = await this.repo.rulesOfOrg(orgId);
    this.cache.set(orgId, { rules, until: Date.now() + CACHE_MS });
    return rules;
  }

  private changed(orgId: string): void {
    this.cache.delete(orgId);
    this.deps.bus.emit('alarm_rules.changed', { orgId });
  }

  private async checkScope(actor: Actor, scope: AlarmRuleInput['scope'], scopeId: string | null): Promise<string | null> {
    if (scope === 'org') {
      if (scopeId) throw new AppError('RULE_INVALID', 'an org rule takes no scopeId');
      return null;
    }
    if (!scopeId) throw new AppError('RULE_INVALID', `a ${scope} rule needs scopeId: the ${scope}'s id`);
    if (scope === 'project') return this.deps.projects.assertInOrg(actor, scopeId);
    if (scope === 'template') return (await this.deps.templates.get(actor, scopeId)).id;
    return (await this.deps.devices.get(actor, scopeId)).id;
  }

  /**
   * A threshold or rate rule watches a key the covered devices report, or their
   * templates declare: a misspelt key would otherwise never fire, silently.
   */
  private async checkKey(actor: Actor, rule: Pick<AlarmRule, 'kind' | 'key'>, scope: AlarmRule['scope'], scopeId: string | null): Promise<void> {
    if ((rule.kind !== 'threshold' && rule.kind !== 'rate') || !rule.key) return;
    const filter = scope === 'org' ? {} : { [`${scope}Id`]: scopeId! };
    const known = new Set(await this.deps.telemetry.reportedKeys(actor, filter));
    // Declared keys: of the rule's template, of the device's own template, or of any template for a project or the org.
    const templateId = scope === 'template' ? scopeId : scope === 'device' ? (await this.deps.devices.get(actor, scopeId!)).templateId : undefined;
    for (const t of await this.deps.templates.list(actor)) if (templateId === undefined || t.id === templateId) for (const k of t.telemetry) known.add(k.name);
    if (!known.has(rule.key))
      throw new AppError(
        'RULE_UNKNOWN_KEY',
        `no device ${scope === 'org' ? 'of the org' : `of this ${scope}`} reports "${rule.key}" and no template declares it${
          known.size ? `; known keys: ${[...known].sort().slice(0, 20).join(', ')}` : ''
        }`,
      );
  }
}

function nameTaken(name: string) {
  return (err: unknown): never => {
    if ((err as { code?: string }).code === '23505') throw new AppError('NAME_TAKEN', `a rule named "${name}" already exists at this scope`);
    throw err;
  };
}
