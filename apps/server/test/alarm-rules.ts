import type { AlarmRule } from '../src/modules/alarms/rule-logic.js';

/** A threshold rule (raise above 80, clear below 75) for tests, with what a test changes. */
export const thresholdRule = (over: Partial<AlarmRule> = {}): AlarmRule => ({
  id: 'r',
  orgId: 'o',
  name: 'hot',
  scope: 'org',
  scopeId: null,
  enabled: true,
  kind: 'threshold',
  key: 'temperature',
  condition: { op: '>', value: 80 },
  clear: { op: '<', value: 75 },
  durationS: 0,
  severity: 'major',
  message: '{{device.name}} temperature {{value}} °C',
  notify: [],
  escalate: null,
  quietHours: null,
  stormLimit: null,
  ...over,
});
