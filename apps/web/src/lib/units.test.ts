import { describe, expect, it } from 'vitest';
import { displayRangeFor, formatValue, outOfRangeNote, unitFor, type TelemetryKeySpec } from './units';

describe('unitFor', () => {
  it.each([
    ['temperature', '°C'],
    ['humidity', '%'],
    ['battery', '%'],
    ['battery_v', 'V'],
    ['fuel', '%'],
    ['rssi', 'dBm'],
    ['speed', 'km/h'],
    ['co2', 'ppm'],
    ['uptime', 's'],
    ['door_open', null],
  ])('%s → %s', (key, unit) => {
    expect(unitFor(key)).toBe(unit);
  });

  it('prefers the unit in the device metadata', () => {
    expect(unitFor('temperature', { units: { temperature: '°F' } })).toBe('°F');
    expect(unitFor('flow', { units: { flow: 'l/min' } })).toBe('l/min');
    expect(unitFor('temperature', { units: 'nonsense' })).toBe('°C');
  });

  const specs: TelemetryKeySpec[] = [
    { name: 'pressure', unit: 'bar', min: 0, max: 10 },
    { name: 'temperature', unit: 'K' },
    { name: 'level', max: 100 },
    { name: 'mode', type: 'string' },
  ];
  it('takes the template unit over a guess, and the device metadata over both', () => {
    expect(unitFor('pressure', {}, specs)).toBe('bar');
    expect(unitFor('temperature', {}, specs)).toBe('K');
    expect(unitFor('temperature', { units: { temperature: '°F' } }, specs)).toBe('°F');
    expect(unitFor('humidity', {}, specs)).toBe('%');
  });
  it('reads the display range from the template', () => {
    expect(displayRangeFor('pressure', specs)).toEqual({ min: 0, max: 10 });
    expect(displayRangeFor('level', specs)).toEqual({ max: 100 });
    expect(displayRangeFor('temperature', specs)).toBeNull();
    expect(displayRangeFor('pressure')).toBeNull();
  });
});

describe('formatValue', () => {
  it('rounds numbers and adds the unit', () => {
    expect(formatValue(21.5, '°C')).toBe('21.5 °C');
    expect(formatValue(1 / 3, null)).toBe('0.333');
    expect(formatValue(40, '%')).toBe('40 %');
  });
  it('shows text, booleans and JSON as they are', () => {
    expect(formatValue('ok', null)).toBe('ok');
    expect(formatValue(true, null)).toBe('true');
    expect(formatValue({ a: 1 }, null)).toBe('{"a":1}');
  });
});

describe('outOfRangeNote', () => {
  it('names readings outside the template range, and only those', () => {
    expect(outOfRangeNote(12, { min: 0, max: 10 }, 'bar')).toBe(`Above the expected range (0–${formatValue(10, 'bar')})`);
    expect(outOfRangeNote(-1, { min: 0, max: 10 }, 'bar')).toMatch(/^Below the expected range/);
    expect(outOfRangeNote(10, { min: 0, max: 10 }, 'bar')).toBeNull();
    expect(outOfRangeNote(0, { min: 0, max: 10 }, 'bar')).toBeNull();
    expect(outOfRangeNote(101, { max: 100 }, '%')).toBe(`Above the expected range (≤ ${formatValue(100, '%')})`);
    expect(outOfRangeNote(5, { min: 10 }, null)).toBe('Below the expected range (≥ 10)');
  });

  it('says nothing without a range or a number', () => {
    expect(outOfRangeNote(500, null, null)).toBeNull();
    expect(outOfRangeNote('hot', { min: 0, max: 10 }, null)).toBeNull();
    expect(outOfRangeNote(Number.NaN, { min: 0, max: 10 }, null)).toBeNull();
  });
});
