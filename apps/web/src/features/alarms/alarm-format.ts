import type { AlarmRule, AlarmState, Comparison } from '@tether/api-client';

export type Severity = AlarmRule['severity'];
export type RuleKind = AlarmRule['kind'];
export type RuleScope = AlarmRule['scope'];

/** Most severe first; checked against the generated type. */
export const ALARM_SEVERITIES = ['critical', 'major', 'minor', 'warning', 'info'] as const satisfies readonly Severity[];

export const STATE_LABEL: Record<AlarmState, string> = {
  active: 'Active',
  acknowledged: 'Acknowledged',
  cleared_unacknowledged: 'Cleared, not acknowledged',
  cleared: 'Cleared',
};

export const KIND_LABEL: Record<RuleKind, string> = {
  threshold: 'Threshold',
  rate: 'Rate of change',
  no_data: 'No data',
  device_alert: 'Device alert',
  health_warning: 'Health warning',
};

export const isOpen = (state: AlarmState): boolean => state === 'active' || state === 'acknowledged';

/** 300 → "5 min", 90 → "90 s", 7200 → "2 h". */
export function formatSeconds(s: number): string {
  if (s >= 3600 && s % 3600 === 0) return `${s / 3600} h`;
  if (s >= 60 && s % 60 === 0) return `${s / 60} min`;
  return `${s} s`;
}

/** "> 80", "between 10 and 20", "outside 10 and 20". */
export function formatComparison(c: Comparison): string {
  if (c.op === 'between' || c.op === 'outside') return `${c.op} ${c.value} and ${c.value2 ?? '?'}`;
  return `${c.op} ${c.value}`;
}

const isComparison = (x: unknown): x is Comparison => typeof x === 'object' && x !== null && 'op' in x && 'value' in x;

/** A rule's condition in one line: "temperature > 80 for 5 min, clears < 75". */
export function ruleSummary(rule: Pick<AlarmRule, 'kind' | 'key' | 'condition' | 'clear' | 'durationS'>): string {
  const c = rule.condition as Record<string, unknown>;
  switch (rule.kind) {
    case 'threshold': {
      if (!isComparison(c)) return `${rule.key} (threshold)`;
      let s = `${rule.key} ${formatComparison(c)}`;
      if (rule.durationS > 0) s += ` for ${formatSeconds(rule.durationS)}`;
      s += isComparison(rule.clear) ? `, clears ${formatComparison(rule.clear)}` : ', clears when it no longer holds';
      return s;
    }
    case 'rate': {
      const verb = c.direction === 'fall' ? 'falls' : c.direction === 'any' ? 'changes' : 'rises';
      return `${rule.key} ${verb} more than ${String(c.by)} in ${formatSeconds(Number(c.windowS))}`;
    }
    case 'no_data':
      return `no data for ${formatSeconds(Number(c.silentS))}`;
    case 'device_alert': {
      const after = rule.clear && 'afterS' in rule.clear ? `, clears after ${formatSeconds(rule.clear.afterS)} without a repeat` : ', cleared by hand';
      return `device alert “${rule.key}”${after}`;
    }
    case 'health_warning':
      return `at risk of failing (score ≥ ${String(c.minScore ?? 0.5)}), clears when no longer flagged`;
  }
}
