/**
 * What a rule means, without storage: checking a rule, choosing the rule of a
 * name that applies to a device, and deciding from one value what happens to
 * its alarm. Everything here is a pure function, tested on its own.
 */
import { AppError } from '../errors.js';

export const ALARM_SEVERITIES = ['critical', 'major', 'minor', 'warning', 'info'] as const;
export type AlarmSeverity = (typeof ALARM_SEVERITIES)[number];
export type RuleScope = 'org' | 'project' | 'template' | 'device';
export type RuleKind = 'threshold' | 'rate' | 'no_data' | 'device_alert' | 'health_warning';

/** A comparison: `>` `>=` `<` `<=` one value, `between` / `outside` two (inclusive bounds). */
export interface Comparison {
  op: '>' | '>=' | '<' | '<=' | 'between' | 'outside';
  value: number;
  value2?: number;
}
export interface RateCondition {
  direction: 'rise' | 'fall' | 'any';
  by: number;
  windowS: number;
}
export interface NoDataCondition {
  silentS: number;
}
/** health_warning: the early-warning scan flags the device with at least this score (0.5..1). */
export interface HealthWarningCondition {
  minScore: number;
}
export interface DeviceAlertClear {
  afterS: number;
}

export interface AlarmRule {
  id: string;
  orgId: string;
  name: string;
  scope: RuleScope;
  scopeId: string | null;
  enabled: boolean;
  kind: RuleKind;
  key: string | null;
  condition: Comparison | RateCondition | NoDataCondition | HealthWarningCondition | Record<string, never>;
  clear: Comparison | DeviceAlertClear | null;
  durationS: number;
  severity: AlarmSeverity;
  message: string;
  /** Notification targets told when its alarms are raised or cleared. */
  notify: string[];
  /** Tell these targets too when an alarm is still unacknowledged after `afterS`. */
  escalate: Escalation | null;
  /** Hold notifications while these hours last (local time of `timezone`); they go out when they end. */
  quietHours: QuietHours | null;
  /** At most this many notifications of the rule an hour; the rest are summarised in one after the hour. */
  stormLimit: number | null;
}

export interface Escalation {
  afterS: number;
  notify: string[];
}
export interface QuietHours {
  from: string;
  to: string;
  timezone: string;
}

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** Checks quiet hours: HH:MM to HH:MM (overnight when `to` is earlier), in a timezone the runtime knows. */
export function checkQuietHours(q: QuietHours | null | undefined): QuietHours | null {
  if (!q) return null;
  if (!HHMM.test(q.from) || !HHMM.test(q.to)) throw new AppError('RULE_INVALID', 'quietHours.from and .to: HH:MM, 00:00 to 23:59');
  if (q.from === q.to) throw new AppError('RULE_IMPOSSIBLE', 'quietHours: from and to are the same time');
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: q.timezone }).format(0);
  } catch {
    throw new AppError('RULE_INVALID', `quietHours.timezone: unknown time zone "${q.timezone}" (an IANA name such as Europe/Amsterdam, or UTC)`);
  }
  return { from: q.from, to: q.to, timezone: q.timezone };
}

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3));

/** If `at` falls within the quiet hours, when they end; else null. */
export function quietUntil(q: QuietHours, at: Date): Date | null {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: q.timezone,
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at);
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  const now = get('hour') * 60 + get('minute');
  const from = minutesOf(q.from);
  const to = minutesOf(q.to);
  const inside = from < to ? now >= from && now < to : now >= from || now < to;
  if (!inside) return null;
  const left = (to - now + 1440) % 1440 || 1440;
  return new Date(at.getTime() + left * 60_000 - get('second') * 1000 - at.getMilliseconds());
}

const SCOPE_RANK: Record<RuleScope, number> = { device: 3, project: 2, template: 1, org: 0 };

/** Where a device sits, for choosing its rules. */
export interface DevicePlace {
  deviceId: string;
  projectId: string | null;
  templateId: string | null;
}

export function ruleCovers(rule: AlarmRule, d: DevicePlace): boolean {
  switch (rule.scope) {
    case 'org':
      return true;
    case 'project':
      return rule.scopeId === d.projectId;
    case 'template':
      return rule.scopeId === d.templateId;
    case 'device':
      return rule.scopeId === d.deviceId;
  }
}

/** The enabled rules that apply to the device: of each name, the most specific (device, project, template, org). */
export function rulesFor(rules: readonly AlarmRule[], d: DevicePlace): AlarmRule[] {
  const byName = new Map<string, AlarmRule>();
  for (const r of rules) {
    if (!ruleCovers(r, d)) continue;
    const held = byName.get(r.name);
    if (!held || SCOPE_RANK[r.scope] > SCOPE_RANK[held.scope]) byName.set(r.name, r);
  }
  // A disabled override switches the rule off for its scope, as an override should.
  return [...byName.values()].filter((r) => r.enabled);
}

export function compare(c: Comparison, v: number): boolean {
  switch (c.op) {
    case '>':
      return v > c.value;
    case '>=':
      return v >= c.value;
    case '<':
      return v < c.value;
    case '<=':
      return v <= c.value;
    case 'between':
      return v >= c.value && v <= c.value2!;
    case 'outside':
      return v < c.value || v > c.value2!;
  }
}

const invalid = (message: string) => new AppError('RULE_INVALID', message);

function checkComparison(c: unknown, what: string): Comparison {
  const x = c as Partial<Comparison> | null;
  if (!x || typeof x !== 'object') throw invalid(`${what}: give {op, value}`);
  if (!['>', '>=', '<', '<=', 'between', 'outside'].includes(x.op as string)) throw invalid(`${what}.op: one of > >= < <= between outside`);
  if (typeof x.value !== 'number' || !Number.isFinite(x.value)) throw invalid(`${what}.value: a finite number`);
  const two = x.op === 'between' || x.op === 'outside';
  if (two && (typeof x.value2 !== 'number' || !Number.isFinite(x.value2))) throw invalid(`${what}.value2: a finite number (${x.op} takes two bounds)`);
  if (two && x.value2! <= x.value) throw new AppError('RULE_IMPOSSIBLE', `${what}: ${x.op} needs value < value2`);
  if (!two && x.value2 !== undefined) throw invalid(`${what}.value2: only between and outside take a second bound`);
  return two ? { op: x.op!, value: x.value, value2: x.value2! } : { op: x.op!, value: x.value };
}

/**
 * Values that satisfy both comparisons exist: a clear condition that can hold
 * while the raise condition holds would clear and raise the same alarm on one
 * value. Checked on a grid of the bounds and just around them.
 */
function overlap(a: Comparison, b: Comparison): number | null {
  const bounds = [a.value, a.value2, b.value, b.value2].filter((x): x is number => x !== undefined);
  const span = Math.max(1, ...bounds.map(Math.abs));
  const eps = span * 1e-9;
  for (const x of bounds.flatMap((v) => [v - eps, v, v + eps]).concat([-1e300, 1e300])) if (compare(a, x) && compare(b, x)) return x;
  return null;
}

/** A rule as the API takes it, checked; throws RULE_INVALID or RULE_IMPOSSIBLE (400) with what is wrong. */
export function checkRule(input: {
  kind: RuleKind;
  key?: string | null;
  condition: unknown;
  clear?: unknown;
  durationS?: number;
}): Pick<AlarmRule, 'kind' | 'key' | 'condition' | 'clear' | 'durationS'> {
  const durationS = input.durationS ?? 0;
  const key = input.key?.trim() || null;
  switch (input.kind) {
    case 'threshold': {
      if (!key) throw invalid('a threshold rule needs the telemetry key it watches');
      const condition = checkComparison(input.condition, 'condition');
      const clear = input.clear == null ? null : checkComparison(input.clear, 'clear');
      if (clear) {
        const both = overlap(condition, clear);
        if (both !== null) throw new AppError('RULE_IMPOSSIBLE', `clear and condition both hold at ${both}: the alarm would clear and raise on the same value`);
      }
      return { kind: 'threshold', key, condition, clear, durationS };
    }
    case 'rate': {
      if (!key) throw invalid('a rate rule needs the telemetry key it watches');
      const c = input.condition as Partial<RateCondition> | null;
      if (!c || !['rise', 'fall', 'any'].includes(c.direction as string)) throw invalid('condition.direction: rise, fall or any');
      if (typeof c.by !== 'number' || !(c.by > 0)) throw new AppError('RULE_IMPOSSIBLE', 'condition.by: a change greater than 0');
      if (typeof c.windowS !== 'number' || !Number.isInteger(c.windowS) || c.windowS < 1 || c.windowS > 86_400)
        throw invalid('condition.windowS: whole seconds from 1 to 86400');
      if (input.clear != null) throw invalid('a rate rule clears when the change within its window is no longer more than `by`; it takes no clear');
      if (durationS) throw invalid('a rate rule takes no durationS: its window is its time');
      return { kind: 'rate', key, condition: { direction: c.direction!, by: c.by, windowS: c.windowS }, clear: null, durationS: 0 };
    }
    case 'no_data': {
      const c = input.condition as Partial<NoDataCondition> | null;
      if (!c || typeof c.silentS !== 'number' || !Number.isInteger(c.silentS) || c.silentS < 30) throw invalid('condition.silentS: whole seconds, at least 30');
      if (key) throw invalid('a no-data rule watches the whole device: it takes no key');
      if (input.clear != null || durationS) throw invalid('a no-data rule clears when the device is heard from; it takes no clear or durationS');
      return { kind: 'no_data', key: null, condition: { silentS: c.silentS }, clear: null, durationS: 0 };
    }
    case 'device_alert': {
      if (!key) throw invalid('a device_alert rule needs the alert type it maps (the `type` the device sends)');
      if (input.condition != null && Object.keys(input.condition as object).length) throw invalid('a device_alert rule takes an empty condition');
      const c = input.clear as Partial<DeviceAlertClear> | null | undefined;
      if (c != null && (typeof c.afterS !== 'number' || !Number.isInteger(c.afterS) || c.afterS < 1))
        throw invalid('clear.afterS: whole seconds without a repeat before the alarm clears by itself');
      if (durationS) throw invalid('a device_alert rule takes no durationS');
      return { kind: 'device_alert', key, condition: {}, clear: c ? { afterS: c.afterS! } : null, durationS: 0 };
    }
    case 'health_warning': {
      const c = (input.condition ?? {}) as Partial<HealthWarningCondition>;
      const minScore = c.minScore ?? 0.5;
      if (typeof minScore !== 'number' || !(minScore >= 0.5 && minScore <= 1)) throw invalid('condition.minScore: from 0.5 (the detector flags at 0.5) to 1');
      if (key) throw invalid('a health_warning rule watches the device’s heartbeats: it takes no key');
      if (input.clear != null || durationS)
        throw invalid('a health_warning alarm clears when the scan no longer flags the device; it takes no clear or durationS');
      return { kind: 'health_warning', key: null, condition: { minScore }, clear: null, durationS: 0 };
    }
    default:
      throw invalid('kind: threshold, rate, no_data, device_alert or health_warning');
  }
}

/** `{{device.name}} temperature {{value}} °C`: `{{path}}` replaced from `values`; unknown paths stay as written. */
export function renderMessage(template: string, values: Record<string, unknown>): string {
  return template.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (all, path: string) => {
    let v: unknown = values;
    for (const part of path.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
    if (v === undefined || v === null) return all;
    return typeof v === 'number' ? String(Math.round(v * 1000) / 1000) : typeof v === 'object' ? JSON.stringify(v) : String(v);
  });
}

/** What a threshold rule decides for one value, given whether a window is open and whether its alarm is. */
export type ThresholdStep = { do: 'raise' } | { do: 'repeat' } | { do: 'clear' } | { do: 'pending'; since: number } | { do: 'reset' } | { do: 'nothing' };

/**
 * One value of a threshold rule. `pendingSince` (ms) is when the condition
 * started to hold without a break, or null; `open` whether the alarm is open.
 * The condition must hold for `durationS` before the alarm is raised; it is
 * cleared when the clear condition holds (hysteresis), or, without one, as soon
 * as the condition stops holding.
 */
export function thresholdStep(rule: AlarmRule, v: number, ts: number, pendingSince: number | null, open: boolean): ThresholdStep {
  const cond = rule.condition as Comparison;
  if (compare(cond, v)) {
    if (open) return { do: 'repeat' };
    if (rule.durationS === 0) return { do: 'raise' };
    const since = pendingSince ?? ts;
    return ts - since >= rule.durationS * 1000 ? { do: 'raise' } : pendingSince === null ? { do: 'pending', since } : { do: 'nothing' };
  }
  const clears = rule.clear ? compare(rule.clear as Comparison, v) : true;
  if (open) return clears ? { do: 'clear' } : { do: 'nothing' };
  return pendingSince !== null ? { do: 'reset' } : { do: 'nothing' };
}

/** True when `v` differs from a value in the rule's window by more than `by`, in the rule's direction. */
export function rateChange(rule: AlarmRule, window: readonly { ts: number; v: number }[], v: number): boolean {
  const c = rule.condition as RateCondition;
  if (!window.length) return false;
  let min = Infinity;
  let max = -Infinity;
  for (const p of window) {
    if (p.v < min) min = p.v;
    if (p.v > max) max = p.v;
  }
  const rise = v - min > c.by;
  const fall = max - v > c.by;
  return c.direction === 'rise' ? rise : c.direction === 'fall' ? fall : rise || fall;
}

/** What a rule would have done over a series: each alarm it would have raised, with when it would have cleared. */
export interface Occurrence {
  raisedAt: number;
  clearedAt: number | null;
  /** Values that met the condition while it was open (the raise included). */
  count: number;
  /** The value furthest past the condition. */
  peak: number;
}

/**
 * Replays a threshold or rate rule over one device's points (oldest first,
 * ms): the same decisions as live evaluation, for the rule editor's preview.
 * A duration window that runs out between two points is raised at the later
 * point here (the live sweep raises it on time).
 */
export function replayRule(rule: AlarmRule, points: readonly { ts: number; v: number }[]): Occurrence[] {
  const out: Occurrence[] = [];
  let open: Occurrence | null = null;
  let pendingSince: number | null = null;
  let window: { ts: number; v: number }[] = [];
  const worse = (a: number, b: number) => {
    const c = rule.condition as Comparison;
    return c.op === '<' || c.op === '<=' ? Math.min(a, b) : Math.max(a, b);
  };
  for (const { ts, v } of points) {
    if (rule.kind === 'rate') {
      const c = rule.condition as RateCondition;
      window = window.filter((x) => x.ts >= ts - c.windowS * 1000 && x.ts <= ts);
      const fires = rateChange(rule, window, v);
      window.push({ ts, v });
      if (fires) {
        if (open) open.count++;
        else out.push((open = { raisedAt: ts, clearedAt: null, count: 1, peak: v }));
      } else if (open) {
        open.clearedAt = ts;
        open = null;
      }
      continue;
    }
    const step = thresholdStep(rule, v, ts, pendingSince, open !== null);
    switch (step.do) {
      case 'raise':
        out.push((open = { raisedAt: ts, clearedAt: null, count: 1, peak: v }));
        pendingSince = null;
        break;
      case 'repeat':
        open!.count++;
        open!.peak = worse(open!.peak, v);
        break;
      case 'clear':
        open!.clearedAt = ts;
        open = null;
        break;
      case 'pending':
        pendingSince = step.since;
        break;
      case 'reset':
        pendingSince = null;
        break;
      case 'nothing':
        break;
    }
  }
  return out;
}
