/**
 * The rule editor's form as plain strings, and its conversion to and from the
 * API's rule (AlarmRuleInput). Numbers are checked here; everything else (known
 * keys, impossible conditions) is the server's to judge, and its 400 is shown.
 */
import type { AlarmRule, AlarmRuleInput, Comparison } from '@tether/api-client';
import type { RuleKind, RuleScope, Severity } from './alarm-format';

export type ComparisonOp = Comparison['op'];
export type RateDirection = 'rise' | 'fall' | 'any';

export const COMPARISON_OPS: ComparisonOp[] = ['>', '>=', '<', '<=', 'between', 'outside'];

export interface RuleForm {
  name: string;
  enabled: boolean;
  scope: RuleScope;
  scopeId: string;
  kind: RuleKind;
  key: string;
  op: ComparisonOp;
  value: string;
  value2: string;
  /** threshold: clear on its own comparison (hysteresis) rather than when the condition stops holding. */
  clearOn: boolean;
  clearOp: ComparisonOp;
  clearValue: string;
  clearValue2: string;
  durationS: string;
  direction: RateDirection;
  by: string;
  windowS: string;
  silentS: string;
  /** health_warning: the lowest score that raises (0.5..1). */
  minScore: string;
  /** device_alert: clears by itself after this many seconds without a repeat ('' = by hand). */
  clearAfterS: string;
  severity: Severity;
  message: string;
  notify: string[];
  /** Escalation: minutes still unacknowledged ('' = none), and who is told then. */
  escalateAfterMin: string;
  escalateNotify: string[];
  quietOn: boolean;
  quietFrom: string;
  quietTo: string;
  quietTimezone: string;
  /** Notifications an hour at most ('' = no limit). */
  stormLimit: string;
}

export const DEFAULT_MESSAGE: Record<RuleKind, string> = {
  threshold: '{{device.name}} {{key}} is {{value}}',
  rate: '{{device.name}} {{key}} changed fast: now {{value}}',
  no_data: '{{device.name}} has sent nothing for a while',
  device_alert: '{{device.name}}: {{alert.message}}',
  health_warning: '{{device.name}} may fail soon: {{reasons}}',
};

export function emptyRuleForm(): RuleForm {
  return {
    name: '',
    enabled: true,
    scope: 'org',
    scopeId: '',
    kind: 'threshold',
    key: '',
    op: '>',
    value: '',
    value2: '',
    clearOn: false,
    clearOp: '<',
    clearValue: '',
    clearValue2: '',
    durationS: '0',
    direction: 'rise',
    by: '',
    windowS: '60',
    silentS: '300',
    minScore: '0.5',
    clearAfterS: '',
    severity: 'major',
    message: DEFAULT_MESSAGE.threshold,
    notify: [],
    escalateAfterMin: '',
    escalateNotify: [],
    quietOn: false,
    quietFrom: '22:00',
    quietTo: '07:00',
    quietTimezone: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC',
    stormLimit: '',
  };
}

const str = (n: number | undefined) => (n === undefined ? '' : String(n));

/** A stored rule, as the form edits it. */
export function ruleToForm(rule: AlarmRule): RuleForm {
  const f: RuleForm = {
    ...emptyRuleForm(),
    name: rule.name,
    enabled: rule.enabled,
    scope: rule.scope,
    scopeId: rule.scopeId ?? '',
    kind: rule.kind,
    key: rule.key ?? '',
    durationS: String(rule.durationS),
    severity: rule.severity,
    message: rule.message,
    notify: [...rule.notify],
    escalateAfterMin: rule.escalate ? String(Math.round(rule.escalate.afterS / 60)) : '',
    escalateNotify: rule.escalate ? [...rule.escalate.notify] : [],
    quietOn: rule.quietHours !== null,
    ...(rule.quietHours ? { quietFrom: rule.quietHours.from, quietTo: rule.quietHours.to, quietTimezone: rule.quietHours.timezone } : {}),
    stormLimit: rule.stormLimit === null ? '' : String(rule.stormLimit),
  };
  const c = rule.condition as Record<string, unknown>;
  if (rule.kind === 'threshold' && 'op' in c) {
    const cmp = c as Comparison;
    Object.assign(f, { op: cmp.op, value: str(cmp.value), value2: str(cmp.value2) });
    if (rule.clear && 'op' in rule.clear)
      Object.assign(f, { clearOn: true, clearOp: rule.clear.op, clearValue: str(rule.clear.value), clearValue2: str(rule.clear.value2) });
  } else if (rule.kind === 'rate') {
    Object.assign(f, { direction: c.direction as RateDirection, by: str(c.by as number), windowS: str(c.windowS as number) });
  } else if (rule.kind === 'no_data') {
    f.silentS = str(c.silentS as number);
  } else if (rule.kind === 'health_warning') {
    f.minScore = str(c.minScore as number);
  } else if (rule.kind === 'device_alert' && rule.clear && 'afterS' in rule.clear) {
    f.clearAfterS = String(rule.clear.afterS);
  }
  return f;
}

export class FormError extends Error {}

function num(v: string, label: string, opts: { integer?: boolean; min?: number } = {}): number {
  const t = v.trim();
  const n = Number(t);
  if (t === '' || !Number.isFinite(n)) throw new FormError(`${label}: enter a number`);
  if (opts.integer && !Number.isInteger(n)) throw new FormError(`${label}: whole seconds`);
  if (opts.min !== undefined && n < opts.min) throw new FormError(`${label}: at least ${opts.min}`);
  return n;
}

function comparison(op: ComparisonOp, value: string, value2: string, label: string): Comparison {
  const c: Comparison = { op, value: num(value, `${label} value`) };
  if (op === 'between' || op === 'outside') c.value2 = num(value2, `${label} upper value`);
  return c;
}

/** The API body for the form; throws FormError for a field that is not a number where one is needed. */
export function formToInput(f: RuleForm): AlarmRuleInput {
  const base = {
    name: f.name.trim(),
    enabled: f.enabled,
    scope: f.scope,
    scopeId: f.scope === 'org' ? null : f.scopeId || null,
    kind: f.kind,
    severity: f.severity,
    message: f.message,
    notify: f.notify,
    escalate: f.escalateAfterMin.trim()
      ? { afterS: num(f.escalateAfterMin, 'Escalate after', { integer: true, min: 1 }) * 60, notify: f.escalateNotify }
      : null,
    quietHours: f.quietOn ? { from: f.quietFrom, to: f.quietTo, timezone: f.quietTimezone.trim() || 'UTC' } : null,
    stormLimit: f.stormLimit.trim() ? num(f.stormLimit, 'At most', { integer: true, min: 1 }) : null,
  };
  switch (f.kind) {
    case 'threshold':
      return {
        ...base,
        key: f.key.trim(),
        condition: comparison(f.op, f.value, f.value2, 'Condition'),
        clear: f.clearOn ? comparison(f.clearOp, f.clearValue, f.clearValue2, 'Clear') : null,
        durationS: num(f.durationS || '0', 'Hold for', { integer: true, min: 0 }),
      };
    case 'rate':
      return {
        ...base,
        key: f.key.trim(),
        condition: { direction: f.direction, by: num(f.by, 'Change'), windowS: num(f.windowS, 'Window', { integer: true, min: 1 }) },
        clear: null,
        durationS: 0,
      };
    case 'no_data':
      return { ...base, key: null, condition: { silentS: num(f.silentS, 'Silent for', { integer: true, min: 30 }) }, clear: null, durationS: 0 };
    case 'health_warning':
      return { ...base, key: null, condition: { minScore: num(f.minScore, 'Lowest score', { min: 0.5 }) }, clear: null, durationS: 0 };
    case 'device_alert':
      return {
        ...base,
        key: f.key.trim(),
        condition: {},
        clear: f.clearAfterS.trim() ? { afterS: num(f.clearAfterS, 'Clear after', { integer: true, min: 1 }) } : null,
        durationS: 0,
      };
  }
}
