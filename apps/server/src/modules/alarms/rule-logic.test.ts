import { describe, expect, it } from 'vitest';
import { thresholdRule } from '../../../test/alarm-rules.js';
import { AppError } from '../errors.js';
import { checkQuietHours, checkRule, quietUntil, rateChange, renderMessage, replayRule, rulesFor, thresholdStep } from './rule-logic.js';

const rule = thresholdRule;

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as AppError).code;
  }
  return 'OK';
};

describe('checking a rule', () => {
  it('refuses impossible and malformed conditions with a stable code', () => {
    expect(code(() => checkRule({ kind: 'threshold', key: 't', condition: { op: 'between', value: 10, value2: 5 } }))).toBe('RULE_IMPOSSIBLE');
    // A clear that holds together with the condition would clear and raise on the same value.
    expect(code(() => checkRule({ kind: 'threshold', key: 't', condition: { op: '>', value: 80 }, clear: { op: '>', value: 70 } }))).toBe('RULE_IMPOSSIBLE');
    expect(code(() => checkRule({ kind: 'threshold', key: 't', condition: { op: '>', value: 80 }, clear: { op: '<=', value: 80 } }))).toBe('OK');
    expect(code(() => checkRule({ kind: 'threshold', key: 't', condition: { op: '>', value: 80 }, clear: { op: '<', value: 80.0001 } }))).toBe(
      'RULE_IMPOSSIBLE',
    );
    expect(
      code(() =>
        checkRule({ kind: 'threshold', key: 't', condition: { op: 'outside', value: 10, value2: 20 }, clear: { op: 'between', value: 12, value2: 18 } }),
      ),
    ).toBe('OK');
    expect(
      code(() =>
        checkRule({ kind: 'threshold', key: 't', condition: { op: 'outside', value: 10, value2: 20 }, clear: { op: 'between', value: 5, value2: 18 } }),
      ),
    ).toBe('RULE_IMPOSSIBLE');
    expect(code(() => checkRule({ kind: 'threshold', condition: { op: '>', value: 1 } }))).toBe('RULE_INVALID');
    expect(code(() => checkRule({ kind: 'rate', key: 't', condition: { direction: 'rise', by: 0, windowS: 60 } }))).toBe('RULE_IMPOSSIBLE');
    expect(code(() => checkRule({ kind: 'no_data', condition: { silentS: 5 } }))).toBe('RULE_INVALID');
    expect(code(() => checkRule({ kind: 'device_alert', key: 'gas', condition: {}, clear: { afterS: 600 } }))).toBe('OK');
  });
});

describe('choosing the rules of a device', () => {
  it('takes, of each name, the most specific rule that covers the device; a disabled override switches it off there', () => {
    const org = rule({ id: 'org' });
    const project = rule({ id: 'project', scope: 'project', scopeId: 'p1', condition: { op: '>', value: 90 } });
    const template = rule({ id: 'template', scope: 'template', scopeId: 't1' });
    const device = rule({ id: 'device', scope: 'device', scopeId: 'd2', enabled: false });
    const other = rule({ id: 'other', name: 'cold', condition: { op: '<', value: 0 }, clear: null });
    const all = [org, project, template, device, other];
    const ids = (d: { deviceId: string; projectId: string | null; templateId: string | null }) =>
      rulesFor(all, d)
        .map((r) => r.id)
        .sort();
    expect(ids({ deviceId: 'd1', projectId: 'p1', templateId: 't1' })).toEqual(['other', 'project']);
    expect(ids({ deviceId: 'd1', projectId: null, templateId: 't1' })).toEqual(['other', 'template']);
    expect(ids({ deviceId: 'd3', projectId: null, templateId: null })).toEqual(['org', 'other']);
    expect(ids({ deviceId: 'd2', projectId: 'p1', templateId: 't1' })).toEqual(['other']);
  });
});

describe('a threshold over time', () => {
  it('raises only after the duration, repeats while open, keeps it open in the hysteresis band, clears below the clear value', () => {
    const r = rule({ durationS: 300 });
    const t0 = 1_000_000;
    expect(thresholdStep(r, 85, t0, null, false)).toEqual({ do: 'pending', since: t0 });
    expect(thresholdStep(r, 86, t0 + 60_000, t0, false)).toEqual({ do: 'nothing' });
    // Dropping under the condition (even inside the band) breaks the window.
    expect(thresholdStep(r, 78, t0 + 120_000, t0, false)).toEqual({ do: 'reset' });
    expect(thresholdStep(r, 85, t0 + 300_000, t0, false)).toEqual({ do: 'raise' });
    expect(thresholdStep(r, 85, t0 + 310_000, null, true)).toEqual({ do: 'repeat' });
    expect(thresholdStep(r, 78, t0 + 320_000, null, true)).toEqual({ do: 'nothing' });
    expect(thresholdStep(r, 74, t0 + 330_000, null, true)).toEqual({ do: 'clear' });
    // Without a clear condition, it clears as soon as the condition stops holding.
    expect(thresholdStep(rule({ clear: null }), 80, t0, null, true)).toEqual({ do: 'clear' });
    expect(thresholdStep(rule({}), 81, t0, null, false)).toEqual({ do: 'raise' });
  });

  it('a rate rule fires on a change of more than `by` within its window, in its direction', () => {
    const r = rule({ kind: 'rate', condition: { direction: 'rise', by: 10, windowS: 60 }, clear: null });
    const w = [
      { ts: 0, v: 20 },
      { ts: 30_000, v: 25 },
    ];
    expect(rateChange(r, w, 30.5)).toBe(true);
    expect(rateChange(r, w, 30)).toBe(false);
    expect(rateChange(r, w, 5)).toBe(false);
    expect(rateChange(rule({ kind: 'rate', condition: { direction: 'fall', by: 10, windowS: 60 } }), w, 14)).toBe(true);
    expect(rateChange(r, [], 100)).toBe(false);
  });
});

it('renders message templates from the values, leaving unknown names as written', () => {
  expect(
    renderMessage('{{device.name}} temperature {{value}} °C ({{ rule.name }}, {{nope}})', {
      device: { name: 'Boiler 7' },
      value: 81.23456,
      rule: { name: 'hot' },
    }),
  ).toBe('Boiler 7 temperature 81.235 °C (hot, {{nope}})');
});

describe('quiet hours', () => {
  it("hold until they end, overnight and in the rule's time zone; outside them nothing is held", () => {
    const night = { from: '22:00', to: '06:30', timezone: 'Europe/Amsterdam' };
    // 23:15 in Amsterdam (CET, UTC+1) on 2026-12-07 is 22:15 UTC; they end at 06:30 local = 05:30 UTC.
    expect(quietUntil(night, new Date('2026-12-07T22:15:00Z'))?.toISOString()).toBe('2026-12-08T05:30:00.000Z');
    expect(quietUntil(night, new Date('2026-12-08T05:29:00Z'))?.toISOString()).toBe('2026-12-08T05:30:00.000Z');
    expect(quietUntil(night, new Date('2026-12-08T05:30:00Z'))).toBeNull();
    expect(quietUntil({ from: '12:00', to: '13:00', timezone: 'UTC' }, new Date('2026-12-07T12:59:30Z'))?.toISOString()).toBe('2026-12-07T13:00:00.000Z');
    expect(quietUntil({ from: '12:00', to: '13:00', timezone: 'UTC' }, new Date('2026-12-07T11:59:59Z'))).toBeNull();
  });

  it('are checked: HH:MM, a real time zone, not empty', () => {
    expect(code(() => checkQuietHours({ from: '25:00', to: '06:00', timezone: 'UTC' }))).toBe('RULE_INVALID');
    expect(code(() => checkQuietHours({ from: '22:00', to: '06:00', timezone: 'Mars/Olympus' }))).toBe('RULE_INVALID');
    expect(code(() => checkQuietHours({ from: '22:00', to: '22:00', timezone: 'UTC' }))).toBe('RULE_IMPOSSIBLE');
    expect(code(() => checkQuietHours({ from: '22:00', to: '06:00', timezone: 'Europe/Amsterdam' }))).toBe('OK');
  });
});

describe('replaying a rule over history (the preview)', () => {
  it('finds each time it would have fired and cleared, with the duration and hysteresis', () => {
    const r = rule({ durationS: 60 });
    const at = (s: number) => s * 1000;
    const series = [70, 85, 86, 87, 79, 74, 90, 91, 60, 95, 96, 97, 98, 70].map((v, i) => ({ ts: at(i * 30), v }));
    // 85 at 30 s, still above at 90 s (60 s later): raised at 90 s; 79 keeps it (band), 74 clears.
    // 90 at 180 s, 91 at 210 s: only 30 s, then 60 breaks it. 95 at 270 s still above at 330 s: raised,
    // 98 repeats, 70 clears.
    expect(replayRule(r, series)).toEqual([
      { raisedAt: at(90), clearedAt: at(150), count: 1, peak: 87 },
      { raisedAt: at(330), clearedAt: at(390), count: 2, peak: 98 },
    ]);
    expect(replayRule(rule({ durationS: 0 }), series).map((o) => o.count)).toEqual([3, 2, 4]);
  });
});
