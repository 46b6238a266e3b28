import { describe, expect, it } from 'vitest';
import { deviceVersion, firmwareMatches, isVersionRange } from './fleet-selector.js';

describe('fleet firmware selector', () => {
  it('compares versions as versions, not as text', () => {
    expect(firmwareMatches('<2.0.0', '1.10.0')).toBe(true);
    expect(firmwareMatches('<1.9.0', '1.10.0')).toBe(false);
    expect(firmwareMatches('>=1.2 <1.4', '1.3.7')).toBe(true);
    expect(firmwareMatches('>=1.2 <1.4', '1.4.0')).toBe(false);
    expect(firmwareMatches('1.x', '1.99.0')).toBe(true);
  });

  it('counts a prerelease below its release', () => {
    expect(firmwareMatches('<2.0.0', '2.0.0-rc.1')).toBe(true);
    expect(firmwareMatches('>=2.0.0', '2.0.0-rc.1')).toBe(false);
  });

  it('reads loose versions the way devices report them, and never matches none', () => {
    expect(deviceVersion('v2.1')).toBe('2.1.0');
    expect(deviceVersion('1.2.3.4')).toBe('1.2.3');
    expect(deviceVersion('1.0.0-a')).toBe('1.0.0-a');
    expect(firmwareMatches('<2.0.0', 'v1.5')).toBe(true);
    expect(firmwareMatches('<2.0.0', null)).toBe(false);
    expect(firmwareMatches('<2.0.0', 'unknown')).toBe(false);
    expect(firmwareMatches('*', 'unknown')).toBe(false);
  });

  it('tells a range from text that is not one', () => {
    expect(isVersionRange('<2.0.0')).toBe(true);
    expect(isVersionRange('>=1.2 <1.4 || 3.x')).toBe(true);
    expect(isVersionRange('below two')).toBe(false);
    expect(isVersionRange('<<2')).toBe(false);
  });
});
