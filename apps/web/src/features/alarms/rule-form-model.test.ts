import { describe, expect, it } from 'vitest';
import type { AlarmRule } from '@tether/api-client';
import { ruleSummary } from './alarm-format';
import { emptyRuleForm, formToInput, FormError, ruleToForm } from './rule-form-model';

const stored = (r: Partial<AlarmRule>): AlarmRule => ({
  id: '00000000-0000-0000-0000-000000000001',
  name: 'Overheat',
  enabled: true,
  scope: 'org',
  scopeId: null,
  kind: 'threshold',
  key: 'temperature',
  condition: { op: '>', value: 80 },
  clear: { op: '<', value: 75 },
  escalate: null,
  quietHours: null,
  stormLimit: null,
  durationS: 300,
  severity: 'critical',
  message: '{{device.name}} temperature {{value}} °C',
  notify: [],
  createdAt: '2026-03-01T12:00:00.000Z',
  updatedAt: '2026-03-01T12:00:00.000Z',
  ...r,
});

describe('ruleSummary', () => {
  it.each([
    [stored({}), 'temperature > 80 for 5 min, clears < 75'],
    [stored({ durationS: 0, clear: null }), 'temperature > 80, clears when it no longer holds'],
    [
      stored({ condition: { op: 'outside', value: 10, value2: 20 }, clear: null, durationS: 90 }),
      'temperature outside 10 and 20 for 90 s, clears when it no longer holds',
    ],
    [stored({ kind: 'rate', condition: { direction: 'rise', by: 10, windowS: 60 }, clear: null, durationS: 0 }), 'temperature rises more than 10 in 1 min'],
    [stored({ kind: 'no_data', key: null, condition: { silentS: 7200 }, clear: null, durationS: 0 }), 'no data for 2 h'],
    [
      stored({ kind: 'device_alert', key: 'gas', condition: {}, clear: { afterS: 600 }, durationS: 0 }),
      'device alert “gas”, clears after 10 min without a repeat',
    ],
    [stored({ kind: 'device_alert', key: 'crash', condition: {}, clear: null, durationS: 0 }), 'device alert “crash”, cleared by hand'],
    [
      stored({ kind: 'health_warning', key: null, condition: { minScore: 0.7 }, clear: null, durationS: 0 }),
      'at risk of failing (score ≥ 0.7), clears when no longer flagged',
    ],
  ])('%#: %s', (rule, text) => {
    expect(ruleSummary(rule)).toBe(text);
  });
});

describe('rule form', () => {
  it('round-trips every kind of rule through the form', () => {
    for (const r of [
      stored({}),
      stored({ scope: 'device', scopeId: '00000000-0000-0000-0000-0000000000d1', condition: { op: 'between', value: 1, value2: 2 }, clear: null }),
      stored({ kind: 'rate', condition: { direction: 'fall', by: 2.5, windowS: 30 }, clear: null, durationS: 0 }),
      stored({ kind: 'no_data', key: null, condition: { silentS: 60 }, clear: null, durationS: 0 }),
      stored({ kind: 'device_alert', key: 'gas', condition: {}, clear: { afterS: 600 }, durationS: 0 }),
      stored({ kind: 'health_warning', key: null, condition: { minScore: 0.6 }, clear: null, durationS: 0 }),
    ]) {
      const { id: _id, createdAt: _c, updatedAt: _u, ...input } = r;
      expect(formToInput(ruleToForm(r))).toEqual(input);
    }
  });

  it('makes the threshold rule of the brief from typed fields', () => {
    const f = { ...emptyRuleForm(), name: ' Overheat ', key: 'temperature', value: '80', clearOn: true, clearValue: '75', severity: 'critical' as const };
    expect(formToInput(f)).toMatchObject({
      name: 'Overheat',
      scope: 'org',
      scopeId: null,
      kind: 'threshold',
      condition: { op: '>', value: 80 },
      clear: { op: '<', value: 75 },
      durationS: 0,
    });
  });

  it('names the field that is not a number', () => {
    expect(() => formToInput({ ...emptyRuleForm(), key: 'temperature', value: 'hot' })).toThrow(new FormError('Condition value: enter a number'));
    expect(() => formToInput({ ...emptyRuleForm(), kind: 'no_data', silentS: '10' })).toThrow('Silent for: at least 30');
    expect(() => formToInput({ ...emptyRuleForm(), kind: 'health_warning', minScore: '0.2' })).toThrow('Lowest score: at least 0.5');
  });
});

describe('who a rule tells, and when', () => {
  it('keeps escalation, quiet hours and the storm limit through the form', () => {
    const rule = stored({
      notify: ['00000000-0000-0000-0000-0000000000a1'],
      escalate: { afterS: 900, notify: ['00000000-0000-0000-0000-0000000000b2'] },
      quietHours: { from: '22:00', to: '06:30', timezone: 'Europe/Amsterdam' },
      stormLimit: 5,
    });
    expect(formToInput(ruleToForm(rule))).toMatchObject({
      escalate: { afterS: 900, notify: ['00000000-0000-0000-0000-0000000000b2'] },
      quietHours: { from: '22:00', to: '06:30', timezone: 'Europe/Amsterdam' },
      stormLimit: 5,
    });
    expect(formToInput(ruleToForm(stored({})))).toMatchObject({ escalate: null, quietHours: null, stormLimit: null });
    expect(() => formToInput({ ...ruleToForm(stored({})), stormLimit: 'many' })).toThrow(FormError);
  });
});
